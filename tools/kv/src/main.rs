//! `cargo kv`: the command line over the `kv` library. Only argument
//! parsing lives here, so that everything the command prints can be tested
//! by calling the library.

use std::io::Write as _;
use std::ops::Bound;
use std::path::PathBuf;
use std::process::ExitCode;

use ch00_contract::KeyRange;
use clap::{Parser, Subcommand, ValueEnum};
use kv::play::{Command as PlayCommand, StageName};

/// Look inside the files of the book's key-value stores.
#[derive(Parser)]
#[command(name = "cargo kv", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the structure of a store's directory or of one of its files,
    /// recognised by its magic number.
    Inspect {
        /// A store's directory, or one file in it.
        path: PathBuf,
    },
    /// Draw an LSM store (chapter 6) as an SVG: one row per level, each
    /// table placed by its key range.
    Svg {
        /// The store's directory.
        dir: PathBuf,
        /// Where to write the SVG (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the value of a key.
    Get {
        #[command(flatten)]
        store: StoreArgs,
        /// The key (`\xNN` for any byte).
        key: String,
    },
    /// Set a key to a value, then sync.
    Set {
        #[command(flatten)]
        store: StoreArgs,
        /// The key (`\xNN` for any byte).
        key: String,
        /// The value (`\xNN` for any byte).
        value: String,
    },
    /// Delete a key, then sync.
    Delete {
        #[command(flatten)]
        store: StoreArgs,
        /// The key (`\xNN` for any byte).
        key: String,
    },
    /// Print the pairs in a range of keys.
    Scan {
        #[command(flatten)]
        store: StoreArgs,
        /// Only keys starting with this.
        #[arg(long, conflicts_with_all = ["start", "end"])]
        prefix: Option<String>,
        /// The first key (included).
        #[arg(long)]
        start: Option<String>,
        /// Where to stop (excluded).
        #[arg(long)]
        end: Option<String>,
        /// How many pairs to print at most.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(clap::Args)]
struct StoreArgs {
    /// Which stage's store the directory holds.
    #[arg(long, value_enum)]
    stage: StageArg,
    /// The store's directory.
    dir: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum StageArg {
    Ch02,
    Ch03,
    Ch04,
    Ch05,
    Ch06,
}

impl From<StageArg> for StageName {
    fn from(arg: StageArg) -> StageName {
        match arg {
            StageArg::Ch02 => StageName::Ch02,
            StageArg::Ch03 => StageName::Ch03,
            StageArg::Ch04 => StageName::Ch04,
            StageArg::Ch05 => StageName::Ch05,
            StageArg::Ch06 => StageName::Ch06,
        }
    }
}

fn bytes(text: &str) -> Result<Vec<u8>, String> {
    kv::text::unescape(text)
}

fn run(cli: Cli) -> Result<String, String> {
    let play = |store: StoreArgs, command: PlayCommand| {
        kv::play::run(store.stage.into(), &store.dir, &command).map_err(|e| e.to_string())
    };
    match cli.command {
        Command::Inspect { path } => kv::inspect::inspect(&path).map_err(|e| e.to_string()),
        Command::Svg { dir, out } => {
            let svg = kv::svg::svg(&dir).map_err(|e| e.to_string())?;
            match out {
                Some(path) => {
                    std::fs::write(&path, svg)
                        .map_err(|e| format!("writing {}: {e}", path.display()))?;
                    Ok(format!("wrote {}\n", path.display()))
                }
                None => Ok(svg),
            }
        }
        Command::Get { store, key } => play(store, PlayCommand::Get { key: bytes(&key)? }),
        Command::Set { store, key, value } => play(
            store,
            PlayCommand::Set {
                key: bytes(&key)?,
                value: bytes(&value)?,
            },
        ),
        Command::Delete { store, key } => play(store, PlayCommand::Delete { key: bytes(&key)? }),
        Command::Scan {
            store,
            prefix,
            start,
            end,
            limit,
        } => {
            let range = match prefix {
                Some(prefix) => KeyRange::prefix(&bytes(&prefix)?),
                None => {
                    let start = start.as_deref().map(bytes).transpose()?;
                    let end = end.as_deref().map(bytes).transpose()?;
                    KeyRange::from_bounds(
                        start.as_deref().map_or(Bound::Unbounded, Bound::Included),
                        end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
                    )
                }
            };
            play(store, PlayCommand::Scan { range, limit })
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(text) => {
            // `print!` panics when the reader has gone (`cargo kv inspect
            // big.sst | head`); a closed pipe is no error of ours.
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: writing to standard output: {e}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

//! `cargo workshop chNN`: a starter crate for a chapter, and a check of it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use workshop::chapters::{self, Chapter};
use workshop::check::{self, TargetResult};
use workshop::starter::{self, Starter};

/// Builds a chapter's stage yourself: generates a starter crate from the
/// chapter's code, with the bodies the chapter teaches replaced by
/// todo!() and a hint, and the chapter's tests as the goal.
#[derive(Parser, Debug)]
#[command(name = "cargo workshop", bin_name = "cargo workshop")]
struct Args {
    /// The chapter: ch01 to ch06 (or its number, or its crate's name);
    /// with --verify, any number of them.
    chapters: Vec<String>,
    /// Where starters go [default: workshop/ in the workspace, which git
    /// ignores].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Build on your own starters of earlier chapters (in the same --dir)
    /// instead of the reference crates.
    #[arg(long)]
    own: bool,
    /// Replace an existing starter (the work in it is lost).
    #[arg(long)]
    force: bool,
    /// Run the starter's tests, file by file, and say how many pass in each.
    #[arg(long)]
    check: bool,
    /// List the chapters and the bodies each asks you to write.
    #[arg(long)]
    list: bool,
    /// For continuous integration: generate every chapter's starter (or
    /// the chapters given) under target/, and check that it builds and that
    /// every one of its tests fails until the bodies are written.
    #[arg(long)]
    verify: bool,
}

fn root() -> PathBuf {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("cargo workshop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<bool, String> {
    let root = root();
    if args.list {
        return list(&root).map(|()| true);
    }
    if args.verify {
        return verify(&root, &args.chapters);
    }
    let [name] = args.chapters.as_slice() else {
        return Err("name one chapter (cargo workshop ch04), or --list".to_string());
    };
    let chapter = chapters::find(&root, name)?;
    let dir = args.dir.clone().unwrap_or_else(|| root.join("workshop"));
    if args.check {
        let at = starter::starter_dir(&dir, &chapter);
        if !at.join("Cargo.toml").exists() {
            return Err(format!(
                "no starter at {}; make it first: cargo workshop {}",
                at.display(),
                chapter.short
            ));
        }
        return check_starter(&at).map(|(green, _)| green);
    }
    let made = starter::generate(&root, &chapter, &dir, args.own, args.force)?;
    // The --check to print must find this starter: with its --dir.
    let dir_arg = args
        .dir
        .as_ref()
        .map(|d| format!(" --dir {}", d.display()))
        .unwrap_or_default();
    explain(&root, &chapter, &made, &dir_arg)?;
    Ok(true)
}

fn list(root: &Path) -> Result<(), String> {
    for chapter in chapters::all(root)? {
        let todos = marked_in(root, &chapter)?;
        println!("{} ({} bodies to write)", chapter.crate_name, todos.len());
        for (file, m) in todos {
            println!("  {file}  {}: {}", m.name, m.hint);
        }
    }
    Ok(())
}

/// The marked bodies of a chapter's reference code, by file.
fn marked_in(
    root: &Path,
    chapter: &Chapter,
) -> Result<Vec<(String, workshop::markers::Marked)>, String> {
    let src = root.join("chapters").join(&chapter.crate_name).join("src");
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        let (_, marked) = workshop::markers::strip(&text)
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        // As the starter has it: the reference's line numbers would only
        // point at the answers.
        let crate_dir = src.parent().unwrap_or(&src);
        let rel = entry
            .path()
            .strip_prefix(crate_dir)
            .unwrap_or(entry.path())
            .display()
            .to_string();
        out.extend(marked.into_iter().map(|m| (rel.clone(), m)));
    }
    Ok(out)
}

fn explain(root: &Path, chapter: &Chapter, made: &Starter, dir_arg: &str) -> Result<(), String> {
    let shown = made
        .dir
        .strip_prefix(std::env::current_dir().unwrap_or_default())
        .unwrap_or(&made.dir);
    println!(
        "A starter for {} is in {}.\n",
        chapter.crate_name,
        shown.display()
    );
    println!(
        "Write these {} bodies (each is todo!() with its hint):",
        made.todos.len()
    );
    for t in &made.todos {
        println!(
            "  {}:{}  {}",
            t.file.display(),
            t.marked.starter_line,
            t.marked.hint
        );
    }
    println!("\nThen make its tests pass, in this order:\n");
    println!("  cd {}", shown.display());
    for test in chapters::test_order(&made.dir)? {
        println!("  cargo test --test {test}");
    }
    println!("  cargo test                       # all of them\n");
    println!(
        "or, from the book's directory, cargo workshop {}{dir_arg} --check for a summary.\n\
         The reference code is in {}.",
        chapter.short,
        root.join("chapters").join(&chapter.crate_name).display()
    );
    Ok(())
}

/// Builds and runs a starter's tests, target by target, printing a line
/// for each; whether all passed, and the results.
fn check_starter(dir: &Path) -> Result<(bool, Vec<TargetResult>), String> {
    println!("building {} ...", dir.display());
    if let Err(why) = check::build(dir) {
        println!("it does not build yet:\n{why}");
        return Ok((false, Vec::new()));
    }
    let mut targets = vec!["--lib".to_string()];
    targets.extend(chapters::test_order(dir)?);
    let mut results = Vec::new();
    for target in targets {
        let r = check::run(dir, &target)?;
        if r.passed.is_empty() && r.failed.is_empty() {
            continue;
        }
        println!(
            "  {:<24} {:>3} passed, {:>3} failed{}",
            if target == "--lib" {
                "unit tests (src/)"
            } else {
                &target
            },
            r.passed.len(),
            r.failed.len(),
            if r.green() { "  ✓" } else { "" }
        );
        results.push(r);
    }
    let green = results.iter().all(TargetResult::green);
    if green {
        println!("every test passes: the stage is yours.");
    }
    Ok((green, results))
}

/// Every chapter's starter (or `only`'s) builds, and none of its tests
/// passes on the todo!() bodies: a test that passes on a starter asserts
/// nothing about what the reader writes. (That the same tests pass on the
/// reference code is `cargo test --workspace`'s job.)
fn verify(root: &Path, only: &[String]) -> Result<bool, String> {
    let dir = root.join("target/workshop-verify");
    let chosen = if only.is_empty() {
        chapters::all(root)?
    } else {
        only.iter()
            .map(|name| chapters::find(root, name))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut ok = true;
    for chapter in chosen {
        if marked_in(root, &chapter)?.is_empty() {
            println!("{}: no marked bodies yet", chapter.crate_name);
            ok = false;
            continue;
        }
        let made = starter::generate(root, &chapter, &dir, false, true)?;
        let (_, results) = check_starter(&made.dir)?;
        if results.is_empty() {
            println!("{}: the starter does not build", chapter.crate_name);
            ok = false;
            continue;
        }
        let (reused, passing): (Vec<String>, Vec<String>) = results
            .iter()
            .flat_map(|r| r.passed.iter().map(move |t| format!("{} {t}", r.target)))
            .partition(|t| chapters::given(&chapter.crate_name, t).is_some());
        for t in &reused {
            let why = chapters::given(&chapter.crate_name, t).unwrap_or_default();
            println!("    passes on code the starter gives ({why}): {t}");
        }
        if passing.is_empty() {
            println!(
                "{}: builds, and {} its tests fail on the starter",
                chapter.crate_name,
                if reused.is_empty() {
                    "all"
                } else {
                    "all the rest of"
                }
            );
        } else {
            ok = false;
            println!(
                "{}: {} tests pass on the starter, so assert nothing it asks for:",
                chapter.crate_name,
                passing.len()
            );
            for t in passing {
                println!("    {t}");
            }
        }
    }
    Ok(ok)
}

//! `cargo workshop chNN`: a starter crate for a chapter, and a check of it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use workshop::chapters::{self, Chapter};
use workshop::check::{self, TargetResult};
use workshop::markers::{self, Level, Marked};
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
    /// The second level: the chapter's code whole but for its checks on
    /// damaged input (lengths, checksums, magic numbers), which are yours
    /// to write, with the corruption tests as the goal. Goes beside the
    /// first level's starter, in <crate>-armour/.
    #[arg(long)]
    armour: bool,
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
    /// every one of its tests fails until the bodies are written; and that
    /// with each of its armour checks left out in turn, a test fails.
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
    // Absolute: the tests run in the starter's directory, and find their
    // snapshots through it.
    let dir = std::path::absolute(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let level = if args.armour {
        Level::Armour
    } else {
        Level::Bodies
    };
    // The commands to print must find this starter: with its --dir, and
    // its level.
    let mut flags = args
        .dir
        .as_ref()
        .map(|d| format!(" --dir {}", d.display()))
        .unwrap_or_default();
    if args.armour {
        flags.push_str(" --armour");
    }
    if args.check {
        let at = starter::starter_dir(&dir, &chapter, level);
        if !at.join("Cargo.toml").exists() {
            return Err(format!(
                "no starter at {}; make it first: cargo workshop {}{flags}",
                at.display(),
                chapter.short
            ));
        }
        return check_starter(&at).map(|(green, _)| green);
    }
    let made = starter::generate(&root, &chapter, &dir, level, args.own, args.force)?;
    explain(&root, &chapter, &made, level, &flags)?;
    Ok(true)
}

fn list(root: &Path) -> Result<(), String> {
    for chapter in chapters::all(root)? {
        let todos = marked_in(root, &chapter, Level::Bodies)?;
        let checks = marked_in(root, &chapter, Level::Armour)?;
        println!(
            "{} ({} bodies to write; {} checks at the armour level)",
            chapter.crate_name,
            todos.len(),
            checks.len()
        );
        for (file, m) in todos {
            println!("  {file}  {}: {}", m.name, m.hint);
        }
        for (file, m) in checks {
            println!("  {file}  armour {}: {}", m.name, m.hint);
        }
    }
    Ok(())
}

/// The regions of a chapter's reference code that a starter of `level`
/// replaces, by file.
fn marked_in(
    root: &Path,
    chapter: &Chapter,
    level: Level,
) -> Result<Vec<(String, Marked)>, String> {
    let src = root.join("chapters").join(&chapter.crate_name).join("src");
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        let (_, marked) = markers::strip_at(&text, level)
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

fn explain(
    root: &Path,
    chapter: &Chapter,
    made: &Starter,
    level: Level,
    flags: &str,
) -> Result<(), String> {
    let shown = made
        .dir
        .strip_prefix(std::env::current_dir().unwrap_or_default())
        .unwrap_or(&made.dir);
    println!(
        "A starter for {} is in {}.\n",
        chapter.crate_name,
        shown.display()
    );
    if level == Level::Bodies {
        println!(
            "Write these {} bodies (each is todo!() with its hint):",
            made.todos.len()
        );
    } else {
        println!(
            "The code is whole but for {} of its checks on damaged input. Write\n\
             each where its comment, TODO (armour), says, as an Error::corruption\n\
             like the code around it: the tests look for the words of what was\n\
             expected, and the offset, so read a failing test to see which:",
            made.todos.len()
        );
    }
    for t in &made.todos {
        println!(
            "  {}:{}  {}",
            t.file.display(),
            t.marked.starter_line,
            t.marked.hint
        );
    }
    let order = chapters::test_order(&made.dir)?;
    if level == Level::Bodies {
        println!("\nThen make its tests pass, in this order:\n");
        println!("  cd {}", shown.display());
        for test in order {
            println!("  cargo test --test {test}");
        }
    } else {
        println!("\nThe tests that need them are mostly among these:\n");
        println!("  cd {}", shown.display());
        println!("  cargo test --lib");
        for test in order.iter().filter(|t| chapters::is_damage_test(t)) {
            println!("  cargo test --test {test}");
        }
    }
    println!("  cargo test                       # all of them\n");
    println!(
        "or, from the book's directory, cargo workshop {}{flags} --check for a summary.\n\
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
        if r.passed.is_empty() && r.failed.is_empty() && r.exited_ok {
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
            if r.green() {
                "  ✓"
            } else if !r.exited_ok && r.failed.is_empty() {
                "  (the test binary aborted: run it with cargo test to see why)"
            } else {
                ""
            }
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
/// reference code is `cargo test --workspace`'s job.) Then its armour
/// level, if it has one ([`verify_armour`]).
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
        if marked_in(root, &chapter, Level::Bodies)?.is_empty() {
            println!("{}: no marked bodies yet", chapter.crate_name);
            ok = false;
            continue;
        }
        let made = starter::generate(root, &chapter, &dir, Level::Bodies, false, true)?;
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
        ok &= verify_armour(root, &chapter, &dir)?;
    }
    Ok(ok)
}

/// Random tests run the same cases in every probe, so that whether a
/// check is needed does not change from run to run.
const FIXED_SEEDS: &[(&str, &str)] = &[("PROPTEST_RNG_SEED", "1"), ("KV_MODEL_SEED", "1")];

/// The longest one test file may run in a probe: a check left out may
/// make a loop endless.
const PROBE_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// A chapter's armour level: its starter builds, and each check is needed.
/// One probe build has every check behind a switch; the chapter's tests
/// run with each switched off in turn, the unit and damage tests first,
/// until one fails. A check no test needs is either dead code or a gap in the
/// tests, and fails CI.
fn verify_armour(root: &Path, chapter: &Chapter, dir: &Path) -> Result<bool, String> {
    let checks = marked_in(root, chapter, Level::Armour)?;
    if checks.is_empty() {
        return Ok(true);
    }
    let armour = starter::generate(root, chapter, dir, Level::Armour, false, true)?;
    if let Err(why) = check::build(&armour.dir) {
        println!(
            "{}: the armour starter does not build:\n{why}",
            chapter.crate_name
        );
        return Ok(false);
    }
    let probe = starter::generate(root, chapter, dir, Level::Probe, false, true)?;
    if let Err(why) = check::build(&probe.dir) {
        println!(
            "{}: the probe build (each check behind a switch) does not build; is a \
             check a whole statement that declares nothing used after it?\n{why}",
            chapter.crate_name
        );
        return Ok(false);
    }
    // The unit tests and the damage tests first, then every other test
    // file: a check may be needed by a test anywhere. With no check off,
    // the first ones pass (else the probe itself is wrong); the rest are
    // the reference's own tests, which `cargo test --workspace` runs.
    let mut targets = vec!["--lib".to_string()];
    let (damage, rest): (Vec<String>, Vec<String>) = chapters::test_order(&probe.dir)?
        .into_iter()
        .partition(|t| chapters::is_damage_test(t));
    targets.extend(damage);
    for target in &targets {
        let r = check::run_with(&probe.dir, target, FIXED_SEEDS, Some(PROBE_LIMIT))?;
        if r.red() {
            println!(
                "{}: with every check in place, the probe's {target} fails: {}",
                chapter.crate_name,
                if r.failed.is_empty() {
                    "the test binary aborted or took too long".to_string()
                } else {
                    r.failed.join(", ")
                }
            );
            return Ok(false);
        }
    }
    targets.extend(rest);
    let mut ok = true;
    for (file, check) in &checks {
        let mut caught = None;
        for target in &targets {
            let mut env = FIXED_SEEDS.to_vec();
            env.push((markers::PROBE_VAR, &check.name));
            let r = check::run_with(&probe.dir, target, &env, Some(PROBE_LIMIT))?;
            if r.red() {
                let test = match r.failed.first() {
                    Some(test) => test.as_str(),
                    None if r.timed_out => "(it ran too long)",
                    None => "(the test binary aborted)",
                };
                caught = Some(format!("{target} {test}"));
                break;
            }
        }
        match caught {
            Some(by) => println!("    armour {} ({file}): left out, {by} fails", check.name),
            None => {
                ok = false;
                println!(
                    "    armour {} ({file}): left out, every test still passes; none \
                     needs this check",
                    check.name
                );
            }
        }
    }
    println!(
        "{}: the armour starter builds, and {}",
        chapter.crate_name,
        if ok {
            format!("each of its {} checks is needed by a test", checks.len())
        } else {
            "some checks are needed by no test".to_string()
        }
    );
    Ok(ok)
}

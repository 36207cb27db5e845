//! Every page of the book: its text diagrams fit the page and their boxes
//! line up, and its listings of project code name their file (see the
//! crate's documentation).

use std::path::Path;

#[test]
fn every_text_diagram_in_the_book_fits_and_lines_up() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src");
    let mut pages: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    assert!(
        pages.len() > 10,
        "the book's pages are in {}",
        src.display()
    );
    let problems: Vec<String> = pages
        .iter()
        .flat_map(|page| book_check::check_page(page).unwrap())
        .map(|p| p.to_string())
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems in the book's text diagrams and listings:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

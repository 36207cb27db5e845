//! `cargo workshop`: build the book's stages yourself.
//!
//! For a chapter, it generates a starter crate from the chapter's real
//! code: the bodies marked in the source (see [`markers`]) become
//! `todo!()` with a one-line hint, and everything else, the chapter's tests
//! above all, is copied as it is. The tests are the goal. Because the
//! starter is generated from the reference code every time, the starter,
//! the reference and the book cannot drift apart.

pub mod chapters;
pub mod check;
pub mod manifest;
pub mod markers;
pub mod starter;

//! How deep the model-based test goes, measured rather than assumed: the
//! sequences it generates are sampled, and what they hold (length, syncs,
//! reopens, crashes, batches) is pinned in a snapshot that the book shows
//! and asserted against floors that the planted flaws need.

use ch00_contract::conformance::SequenceProfile;

// ANCHOR: depth
#[test]
fn sequences_reach_deep_states() {
    let profile = SequenceProfile::measure(1000, 1);
    insta::assert_snapshot!("sequence_profile", profile.to_string());
    // Hundreds of operations, dozens of syncs (dozens of files, in a stage
    // that writes one per sync) and dozens of reopens in a typical case.
    assert!(profile.median("operations") >= Some(150), "{profile}");
    assert!(
        profile.median("syncs (sync, close)") >= Some(20),
        "{profile}"
    );
    assert!(
        profile.median("reopens (close, drop, crash)") >= Some(20),
        "{profile}"
    );
    assert!(profile.median("batches") >= Some(10), "{profile}");
    // Most cases reopen after ten syncs: the state in which a store that
    // reads `table-9` after `table-10` shows its flaw.
    assert!(profile.deep_share() >= 0.75, "{profile}");
}
// ANCHOR_END: depth

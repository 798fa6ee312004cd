//! An error's Display is one line a terminal can show safely: the endpoint and
//! any text taken from the caller or from SQLite are escaped like a field's
//! Display, and input quoted in a message is cut short.

mod support;

use std::time::{Duration, Instant};

fn assert_safe(text: &str) {
    assert!(!text.chars().any(utmps::is_unsafe_char), "raw unsafe character in {text:?}");
    assert!(text.len() < 1000, "{} bytes of message", text.len());
}

const EVIL: &str = "missing\n\x1b[31mFAKE\u{202e}";

#[test]
fn endpoints_in_messages_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let e = utmps::files::read(dir.path().join(EVIL), None, Duration::from_secs(1)).unwrap_err();
    let text = e.to_string();
    assert_safe(&text);
    assert!(text.contains("missing\\n\\u{1b}[31mFAKE\\u{202e}"), "{text}");
    assert_eq!(e.endpoint(), Some(dir.path().join(EVIL).as_path()), "the raw path stays reachable");

    #[cfg(all(target_os = "linux", target_env = "gnu", feature = "xutmp"))]
    {
        let files = support::Files::new();
        let acct = utmps::Accounting::files(dir.path().join(EVIL), &files.wtmp).unwrap();
        let e = acct.open(&utmps::Login::new(support::USER, "pts/60")).unwrap_err();
        assert_safe(&e.to_string());
    }

    #[cfg(feature = "wtmpdb")]
    {
        let deadline = Instant::now() + Duration::from_secs(5);
        let entry = utmps::wtmpdb::Entry::new("alice", "pts/1");
        let e = utmps::wtmpdb::Wtmpdb::new(dir.path().join(EVIL)).login(&entry, deadline).unwrap_err();
        assert_safe(&e.to_string());
        let e = utmps::lastlog2::Lastlog2::new(dir.path().join(EVIL)).get("alice", deadline).unwrap_err();
        assert_safe(&e.to_string());
    }
}

#[test]
fn long_input_is_quoted_short() {
    let huge = "u".repeat(100_000);
    let e = utmps::Login::new("alice", huge.clone()).line_name().unwrap_err();
    let text = e.to_string();
    assert_safe(&text);
    assert!(text.contains('…'), "the cut is shown: {text}");
    #[cfg(feature = "wtmpdb")]
    {
        let dir = tempfile::tempdir().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let store = utmps::wtmpdb::Wtmpdb::new(dir.path().join("w.db")).create(true);
        let e = store.login(&utmps::wtmpdb::Entry::new(huge.clone(), "pts/1"), deadline).unwrap_err();
        assert_safe(&e.to_string());
        assert!(e.to_string().contains('…'), "{e}");
        let e = store.login(&utmps::wtmpdb::Entry::new("alice", huge.clone()), deadline).unwrap_err();
        assert_safe(&e.to_string());
    }
}

/// A handle's Debug and each store's Display show paths as errors do.
#[test]
fn store_paths_in_debug_and_display_are_escaped() {
    let path = std::path::Path::new("/nonexistent").join(EVIL);
    let acct = utmps::Accounting::empty().with_btmp(&path);
    let debug = format!("{acct:?}");
    assert_safe(&debug);
    assert!(debug.contains("missing\\n\\u{1b}[31mFAKE\\u{202e}"), "{debug}");
    for store in acct.stores() {
        assert_safe(&store.to_string());
    }
}

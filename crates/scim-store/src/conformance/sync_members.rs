//! The engine's membership rows: the members it put in each group, written with a chunk,
//! read per group, dropped with their group or member and by a restart.

use scim_core::ports::sync::{ChunkWrite, ClearScope};

use super::Ctx;

cases![memberships_are_rows_dropped_with_their_group_or_member];

/// A group-by-group answer of `members_of` as (group, member) pairs.
fn flat(v: Vec<(String, Vec<String>)>) -> Vec<(String, String)> {
    v.into_iter()
        .flat_map(|(g, ms)| ms.into_iter().map(move |m| (g.clone(), m)))
        .collect()
}

/// Membership rows for a chunk: one (group, [member]) entry per pair.
fn rows(v: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    v.iter().map(|(g, m)| (g.to_string(), vec![m.to_string()])).collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(g, m)| (g.to_string(), m.to_string())).collect()
}

async fn memberships_are_rows_dropped_with_their_group_or_member(c: Ctx) {
    let (job, other) = (c.name("job"), c.name("other"));
    let groups = || vec!["g1".to_string(), "g2".to_string(), "g3".to_string()];
    let big: Vec<(String, String)> = (0..2500).map(|i| ("g3".to_string(), format!("m{i:04}"))).collect();
    // Written out of order: the store sorts.
    let big_rows = vec![("g3".to_string(), big.iter().rev().map(|(_, m)| m.clone()).collect())];
    let first = ChunkWrite {
        add_members: [
            rows(&[("g1", "u1"), ("g1", "u2"), ("g2", "u2"), ("g2", "g1"), ("g1", "u1")]),
            big_rows,
        ]
        .concat(),
        ..Default::default()
    };
    c.db.commit_chunk(&job, first).await.unwrap();
    let apart = ChunkWrite {
        add_members: rows(&[("g1", "u9")]),
        ..Default::default()
    };
    c.db.commit_chunk(&other, apart).await.unwrap();
    let grouped = c.db.members_of(&job, groups()).await.unwrap();
    let names: Vec<(&str, usize)> = grouped.iter().map(|(g, ms)| (g.as_str(), ms.len())).collect();
    assert_eq!(names, [("g1", 2), ("g2", 2), ("g3", 2500)], "each group once, in order");
    let got = flat(grouped);
    assert_eq!(got.len(), 4 + 2500, "a repeated add is one row: {:?}", &got[..5]);
    assert_eq!(
        &got[..4],
        pairs(&[("g1", "u1"), ("g1", "u2"), ("g2", "g1"), ("g2", "u2")]),
        "group order"
    );
    assert_eq!(got[4..], big[..]);
    assert_eq!(
        flat(c.db.members_of(&other, groups()).await.unwrap()),
        pairs(&[("g1", "u9")]),
        "jobs are apart"
    );
    assert!(flat(c.db.members_of(&job, vec![]).await.unwrap()).is_empty());

    // Removes, and unlinking a member (u2: out of every group) or a group (g1: its rows, and
    // its membership in g2) drop rows; the removes and adds are written before the unlinks.
    let second = ChunkWrite {
        add_members: rows(&[("g2", "u3"), ("g1", "u5")]),
        remove_members: rows(&[("g3", "m0001"), ("g1", "missing")]),
        unlink: vec![("user".into(), "u2".into()), ("group".into(), "g1".into())],
        ..Default::default()
    };
    c.db.commit_chunk(&job, second).await.unwrap();
    let got = flat(c.db.members_of(&job, vec!["g1".into(), "g2".into()]).await.unwrap());
    assert_eq!(got, pairs(&[("g2", "u3")]));
    assert_eq!(
        flat(c.db.members_of(&job, vec!["g3".into()]).await.unwrap()).len(),
        2499
    );
    c.db.remove_links(&job, vec![("user".into(), "m0002".into())])
        .await
        .unwrap();
    assert_eq!(
        flat(c.db.members_of(&job, vec!["g3".into()]).await.unwrap()).len(),
        2498,
        "remove_links too"
    );

    c.db.clear(
        &job,
        ClearScope {
            state: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        flat(c.db.members_of(&job, groups()).await.unwrap()).is_empty(),
        "a restart forgets them"
    );
    assert_eq!(flat(c.db.members_of(&other, groups()).await.unwrap()).len(), 1);
}

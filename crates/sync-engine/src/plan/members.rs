//! A group's membership changes: what to add and remove for it to hold what it should.

/// The members to add and remove for a group to hold `want` (`None` when it does); both
/// lists sorted and without repeats.
pub(super) fn member_changes(want: &[&str], have: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    let (mut w, mut h) = (want.iter().peekable(), have.iter().peekable());
    loop {
        match (w.peek(), h.peek()) {
            (Some(a), Some(b)) => match (**a).cmp(b.as_str()) {
                Less => add.extend(w.next().map(|s| s.to_string())),
                Greater => remove.extend(h.next().cloned()),
                Equal => {
                    w.next();
                    h.next();
                }
            },
            (Some(_), None) => add.extend(w.by_ref().map(|s| s.to_string())),
            (None, Some(_)) => remove.extend(h.by_ref().cloned()),
            (None, None) => break,
        }
    }
    (!add.is_empty() || !remove.is_empty()).then_some((add, remove))
}

#[cfg(test)]
mod tests {
    use super::member_changes;

    fn owned(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn changes_are_the_two_differences_of_sorted_lists() {
        type Case<'a> = (&'a [&'a str], &'a [&'a str], Option<(&'a [&'a str], &'a [&'a str])>);
        let cases: [Case; 6] = [
            (&[], &[], None),
            (&["a", "b"], &["a", "b"], None),
            (&["a", "b", "d"], &[], Some((&["a", "b", "d"], &[]))),
            (&[], &["a", "c"], Some((&[], &["a", "c"]))),
            (&["a", "c", "e"], &["b", "c", "d"], Some((&["a", "e"], &["b", "d"]))),
            (&["b", "z"], &["a", "b", "y"], Some((&["z"], &["a", "y"]))),
        ];
        for (want, have, expected) in cases {
            let got = member_changes(want, &owned(have));
            let expected = expected.map(|(a, r)| (owned(a), owned(r)));
            assert_eq!(got, expected, "want {want:?}, have {have:?}");
        }
    }
}

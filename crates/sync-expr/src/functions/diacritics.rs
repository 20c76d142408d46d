//! `NormalizeDiacritics` and the documented character table.

/// The table of Entra's `NormalizeDiacritics` documentation. Some entries are
/// a letter followed by combining marks.
const TABLE: &[(&str, &str)] = &[
    ("\u{00E4}", "a"),
    ("\u{00E0}", "a"),
    ("\u{00E2}", "a"),
    ("\u{00E3}", "a"),
    ("\u{00E5}", "a"),
    ("\u{00E1}", "a"),
    ("\u{0105}", "a"),
    ("\u{0103}", "a"),
    ("\u{0101}", "a"),
    ("\u{0101}\u{0301}", "a"),
    ("\u{0101}\u{0300}", "a"),
    ("\u{0101}\u{0302}", "a"),
    ("\u{0101}\u{0303}", "a"),
    ("\u{01DF}", "a"),
    ("\u{0101}\u{0308}", "a"),
    ("\u{01E1}", "a"),
    ("\u{0061}\u{0331}", "a"),
    ("\u{00E5}\u{0304}", "a"),
    ("\u{00C4}", "A"),
    ("\u{00C0}", "A"),
    ("\u{00C2}", "A"),
    ("\u{00C3}", "A"),
    ("\u{00C5}", "A"),
    ("\u{00C1}", "A"),
    ("\u{0104}", "A"),
    ("\u{0102}", "A"),
    ("\u{0100}", "A"),
    ("\u{0100}\u{0301}", "A"),
    ("\u{0100}\u{0300}", "A"),
    ("\u{0100}\u{0302}", "A"),
    ("\u{0100}\u{0303}", "A"),
    ("\u{01DE}", "A"),
    ("\u{0100}\u{0308}", "A"),
    ("\u{01E0}", "A"),
    ("\u{0041}\u{0331}", "A"),
    ("\u{00C5}\u{0304}", "A"),
    ("\u{00E6}", "ae"),
    ("\u{01E3}", "ae"),
    ("\u{00C6}", "AE"),
    ("\u{01E2}", "AE"),
    ("\u{00E7}", "c"),
    ("\u{010D}", "c"),
    ("\u{0107}", "c"),
    ("\u{0063}\u{0304}", "c"),
    ("\u{0063}\u{0331}", "c"),
    ("\u{00C7}", "C"),
    ("\u{010C}", "C"),
    ("\u{0106}", "C"),
    ("\u{0043}\u{0304}", "C"),
    ("\u{0043}\u{0331}", "C"),
    ("\u{010F}", "d"),
    ("\u{0064}\u{0304}", "d"),
    ("\u{1E0F}", "d"),
    ("\u{010E}", "D"),
    ("\u{0044}\u{0304}", "D"),
    ("\u{1E0E}", "D"),
    ("\u{00EB}", "e"),
    ("\u{00E8}", "e"),
    ("\u{00E9}", "e"),
    ("\u{00EA}", "e"),
    ("\u{0119}", "e"),
    ("\u{011B}", "e"),
    ("\u{0117}", "e"),
    ("\u{0113}", "e"),
    ("\u{1E17}", "e"),
    ("\u{1E15}", "e"),
    ("\u{0113}\u{0302}", "e"),
    ("\u{0113}\u{0303}", "e"),
    ("\u{00EA}\u{0304}", "e"),
    ("\u{0065}\u{0331}", "e"),
    ("\u{00EB}\u{0304}", "e"),
    ("\u{0065}\u{030A}\u{0304}", "e"),
    ("\u{00CB}", "E"),
    ("\u{00C8}", "E"),
    ("\u{00C9}", "E"),
    ("\u{00CA}", "E"),
    ("\u{0118}", "E"),
    ("\u{011A}", "E"),
    ("\u{0116}", "E"),
    ("\u{0112}", "E"),
    ("\u{1E16}", "E"),
    ("\u{1E14}", "E"),
    ("\u{0112}\u{0302}", "E"),
    ("\u{0112}\u{0303}", "E"),
    ("\u{00CA}\u{0304}", "E"),
    ("\u{0045}\u{0331}", "E"),
    ("\u{00CB}\u{0304}", "E"),
    ("\u{0045}\u{030A}\u{0304}", "E"),
    ("\u{011F}", "g"),
    ("\u{1E21}", "g"),
    ("\u{0067}\u{0331}", "g"),
    ("\u{011E}", "G"),
    ("\u{1E20}", "G"),
    ("\u{0047}\u{0331}", "G"),
    ("\u{00EF}", "i"),
    ("\u{00EE}", "i"),
    ("\u{00EC}", "i"),
    ("\u{00ED}", "i"),
    ("\u{0131}", "i"),
    ("\u{012B}", "i"),
    ("\u{012B}\u{0301}", "i"),
    ("\u{012B}\u{0300}", "i"),
    ("\u{012B}\u{0302}", "i"),
    ("\u{012B}\u{0303}", "i"),
    ("\u{0069}\u{0331}", "i"),
    ("\u{00CF}", "I"),
    ("\u{00CE}", "I"),
    ("\u{00CC}", "I"),
    ("\u{00CD}", "I"),
    ("\u{0130}", "I"),
    ("\u{012A}", "I"),
    ("\u{012A}\u{0301}", "I"),
    ("\u{012A}\u{0300}", "I"),
    ("\u{012A}\u{0302}", "I"),
    ("\u{012A}\u{0303}", "I"),
    ("\u{0049}\u{0331}", "I"),
    ("\u{013E}", "l"),
    ("\u{0142}", "l"),
    ("\u{006C}\u{0304}", "l"),
    ("\u{1E39}", "l"),
    ("\u{1E3B}", "l"),
    ("\u{0141}", "L"),
    ("\u{013D}", "L"),
    ("\u{004C}\u{0304}", "L"),
    ("\u{1E38}", "L"),
    ("\u{1E3A}", "L"),
    ("\u{00F1}", "n"),
    ("\u{0144}", "n"),
    ("\u{0148}", "n"),
    ("\u{006E}\u{0304}", "n"),
    ("\u{1E49}", "n"),
    ("\u{00D1}", "N"),
    ("\u{0143}", "N"),
    ("\u{0147}", "N"),
    ("\u{004E}\u{0304}", "N"),
    ("\u{1E48}", "N"),
    ("\u{00F6}", "o"),
    ("\u{00F2}", "o"),
    ("\u{0151}", "o"),
    ("\u{00F5}", "o"),
    ("\u{00F4}", "o"),
    ("\u{00F3}", "o"),
    ("\u{014D}", "o"),
    ("\u{1E53}", "o"),
    ("\u{1E51}", "o"),
    ("\u{014D}\u{0302}", "o"),
    ("\u{014D}\u{0303}", "o"),
    ("\u{022B}", "o"),
    ("\u{014D}\u{0308}", "o"),
    ("\u{01ED}", "o"),
    ("\u{022D}", "o"),
    ("\u{0231}", "o"),
    ("\u{006F}\u{0331}", "o"),
    ("\u{00D6}", "O"),
    ("\u{00D2}", "O"),
    ("\u{0150}", "O"),
    ("\u{00D5}", "O"),
    ("\u{00D4}", "O"),
    ("\u{00D3}", "O"),
    ("\u{014C}", "O"),
    ("\u{1E52}", "O"),
    ("\u{1E50}", "O"),
    ("\u{014C}\u{0302}", "O"),
    ("\u{014C}\u{0303}", "O"),
    ("\u{022A}", "O"),
    ("\u{014C}\u{0308}", "O"),
    ("\u{01EC}", "O"),
    ("\u{022C}", "O"),
    ("\u{0230}", "O"),
    ("\u{004F}\u{0331}", "O"),
    ("\u{00F8}", "oe"),
    ("\u{00F8}\u{0304}", "oe"),
    ("\u{0153}\u{0304}", "oe"),
    ("\u{00D8}", "OE"),
    ("\u{00D8}\u{0304}", "OE"),
    ("\u{0152}\u{0304}", "OE"),
    ("\u{0159}", "r"),
    ("\u{0072}\u{0304}", "r"),
    ("\u{1E5F}", "r"),
    ("\u{1E5D}", "r"),
    ("\u{0158}", "R"),
    ("\u{0052}\u{0304}", "R"),
    ("\u{1E5E}", "R"),
    ("\u{1E5C}", "R"),
    ("\u{00DF}", "ss"),
    ("\u{0161}", "s"),
    ("\u{015B}", "s"),
    ("\u{0219}", "s"),
    ("\u{015F}", "s"),
    ("\u{0073}\u{0304}", "s"),
    ("\u{0073}\u{0331}", "s"),
    ("\u{0160}", "S"),
    ("\u{015A}", "S"),
    ("\u{0218}", "S"),
    ("\u{015E}", "S"),
    ("\u{0053}\u{0304}", "S"),
    ("\u{0053}\u{0331}", "S"),
    ("\u{0165}", "t"),
    ("\u{021B}", "t"),
    ("\u{0074}\u{0304}", "t"),
    ("\u{1E6F}", "t"),
    ("\u{0164}", "T"),
    ("\u{021A}", "T"),
    ("\u{0054}\u{0304}", "T"),
    ("\u{1E6E}", "T"),
    ("\u{00FC}", "u"),
    ("\u{00F9}", "u"),
    ("\u{00FB}", "u"),
    ("\u{00FA}", "u"),
    ("\u{016F}", "u"),
    ("\u{0171}", "u"),
    ("\u{016B}", "u"),
    ("\u{016B}\u{0301}", "u"),
    ("\u{016B}\u{0300}", "u"),
    ("\u{016B}\u{0302}", "u"),
    ("\u{016B}\u{0303}", "u"),
    ("\u{0075}\u{0307}\u{0304}", "u"),
    ("\u{01D6}", "u"),
    ("\u{1E7B}", "u"),
    ("\u{1E73}\u{0304}", "u"),
    ("\u{0075}\u{0331}", "u"),
    ("\u{00DC}", "U"),
    ("\u{00D9}", "U"),
    ("\u{00DB}", "U"),
    ("\u{00DA}", "U"),
    ("\u{016E}", "U"),
    ("\u{0170}", "U"),
    ("\u{016A}", "U"),
    ("\u{016A}\u{0301}", "U"),
    ("\u{016A}\u{0300}", "U"),
    ("\u{016A}\u{0302}", "U"),
    ("\u{016A}\u{0303}", "U"),
    ("\u{0055}\u{0307}\u{0304}", "U"),
    ("\u{01D5}", "U"),
    ("\u{1E7A}", "U"),
    ("\u{1E72}\u{0304}", "U"),
    ("\u{0055}\u{0331}", "U"),
    ("\u{00FF}", "y"),
    ("\u{00FD}", "y"),
    ("\u{0233}", "y"),
    ("\u{0233}\u{0301}", "y"),
    ("\u{0233}\u{0300}", "y"),
    ("\u{0233}\u{0303}", "y"),
    ("\u{0079}\u{0331}", "y"),
    ("\u{0178}", "Y"),
    ("\u{00DD}", "Y"),
    ("\u{0232}", "Y"),
    ("\u{0232}\u{0301}", "Y"),
    ("\u{0232}\u{0300}", "Y"),
    ("\u{0232}\u{0303}", "Y"),
    ("\u{0059}\u{0331}", "Y"),
    ("\u{017A}", "z"),
    ("\u{017E}", "z"),
    ("\u{017C}", "z"),
    ("\u{007A}\u{0304}", "z"),
    ("\u{1E95}", "z"),
    ("\u{0179}", "Z"),
    ("\u{017D}", "Z"),
    ("\u{017B}", "Z"),
    ("\u{005A}\u{0304}", "Z"),
    ("\u{1E94}", "Z"),
];

/// Base letters that the table maps to: a decomposed form (letter followed by
/// combining marks) of one of them loses its marks too.
fn is_target_letter(c: char) -> bool {
    matches!(
        c.to_ascii_lowercase(),
        'a' | 'c' | 'd' | 'e' | 'g' | 'i' | 'l' | 'n' | 'o' | 'r' | 's' | 't' | 'u' | 'y' | 'z'
    )
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x300..=0x36F)
}

/// Replaces the table's characters (longest match first); combining marks
/// (U+0300–U+036F) that follow a replaced character or one of the table's
/// base letters are dropped. Everything else is kept.
pub(super) fn normalize(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let mut matched = None;
        for len in (1..=3).rev() {
            if i + len > chars.len() {
                continue;
            }
            let candidate: String = chars[i..i + len].iter().collect();
            if let Some((_, rep)) = TABLE.iter().find(|(from, _)| *from == candidate) {
                matched = Some((len, *rep));
                break;
            }
        }
        let strip_marks = match matched {
            Some((len, rep)) => {
                out.push_str(rep);
                i += len;
                true
            }
            None => {
                let c = chars[i];
                out.push(c);
                i += 1;
                c.is_ascii() && is_target_letter(c)
            }
        };
        if strip_marks {
            while i < chars.len() && is_combining(chars[i]) {
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{TABLE, normalize};

    #[test]
    fn every_documented_entry_maps_to_its_replacement() {
        assert_eq!(TABLE.len(), 261);
        for (from, to) in TABLE {
            assert_eq!(normalize(from), *to, "{from:?}");
            assert_eq!(
                normalize(&format!("x{from}y")),
                format!("x{to}y"),
                "{from:?} in context"
            );
        }
    }

    #[test]
    fn entries_are_short_and_replacements_ascii() {
        for (from, to) in TABLE {
            assert!((1..=3).contains(&from.chars().count()), "{from:?}");
            assert!(to.chars().all(|c| c.is_ascii_alphabetic()), "{to:?}");
        }
    }

    #[test]
    fn text_outside_the_table_is_kept() {
        assert_eq!(normalize("abc XYZ 123 -_."), "abc XYZ 123 -_.");
        assert_eq!(normalize("ḉ"), "ḉ");
        assert_eq!(normalize("q\u{303}"), "q\u{303}");
        assert_eq!(normalize("\u{301}a"), "\u{301}a");
    }
}

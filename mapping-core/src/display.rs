//! Showing text that came from outside (a partner's population labels, shared fields,
//! declarations) on a terminal. Control characters in it would be instructions to the
//! terminal (escape sequences can rewrite the screen, set the window title, or hide what
//! precedes them), and bidirectional overrides reorder what a person reads. Each such
//! character is shown as a visible `\u{..}` escape instead.

use std::borrow::Cow;

/// `text` with control and bidirectional-override characters escaped.
///
/// ```
/// use mapping_core::display::printable;
/// assert_eq!(printable("Customers"), "Customers");
/// assert_eq!(printable("Cust\u{1b}[2Jomers\n"), "Cust\\u{1b}[2Jomers\\u{a}");
/// assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control() || matches!(c, '\u{200e}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

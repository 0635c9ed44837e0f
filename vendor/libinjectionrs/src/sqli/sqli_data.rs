// This module includes the auto-generated SQL data from build.rs

// The committed data (sitegroup's vendored copy has no build script: the upstream one
// regenerated this from a libinjection checkout, which a package never has).
include!("generated_data.rs");

// Additional helper functions can be added here
impl CharType {
    pub fn is_white(&self) -> bool {
        matches!(self, CharType::White)
    }
    
    pub fn is_word(&self) -> bool {
        matches!(self, CharType::Word | CharType::BWord)
    }
    
    pub fn is_string_start(&self) -> bool {
        matches!(self, CharType::String | CharType::BString | CharType::EString | 
                      CharType::NQString | CharType::QString | 
                      CharType::UString | CharType::XString)
    }
    
    pub fn is_operator(&self) -> bool {
        matches!(self, CharType::Op1 | CharType::Op2 | CharType::Unary)
    }
    
    pub fn is_number(&self) -> bool {
        matches!(self, CharType::Number)
    }
}

// Helper for getting character type
pub fn get_char_type(ch: u8) -> CharType {
    CHAR_MAP[ch as usize]
}
// sitegroup patch: the hash-table lookup answers as the binary search over the sorted table.
#[cfg(test)]
mod lookup_tests {
    use super::*;

    fn by_search(word: &str) -> Option<u8> {
        let upper = word.to_ascii_uppercase();
        SQL_KEYWORDS
            .binary_search_by(|k| k.word.cmp(&upper))
            .ok()
            .map(|i| SQL_KEYWORDS[i].token_type)
    }

    #[test]
    fn lookup_word_agrees_with_a_binary_search() {
        let mut words: Vec<String> = Vec::new();
        for k in SQL_KEYWORDS {
            words.push(k.word.to_string());
            words.push(k.word.to_ascii_lowercase());
            words.push(format!("{}x", k.word));
            words.push(k.word[..k.word.len() - 1].to_string());
        }
        words.extend(["", "a", "zzzz", "中文", "SELECT\u{0}", &"A".repeat(200)].map(String::from));
        for w in &words {
            let expected = by_search(w).map_or(TokenType::Bareword, |t| match t {
                b'k' => TokenType::Keyword,
                b'f' => TokenType::Function,
                b'U' => TokenType::Union,
                b'E' => TokenType::Expression,
                b'T' => TokenType::Tsql,
                b't' => TokenType::SqlType,
                b'o' => TokenType::Operator,
                b'&' => TokenType::LogicOperator,
                b'v' => TokenType::Variable,
                b'1' => TokenType::Number,
                b'A' => TokenType::Collate,
                b'B' => TokenType::Group,
                b'F' => TokenType::Fingerprint,
                _ => TokenType::Bareword,
            });
            assert_eq!(lookup_word(w), expected, "{w:?}");
        }
        assert!(words.len() > 30_000);
    }
}

//! Errors that point into an input file: `file:line:column: message` and a
//! one-line hint, from the byte spans the TOML parser keeps.

use std::fmt;
use std::path::{Path, PathBuf};

/// A mistake in a scenario or profile file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// A file's text, for turning byte offsets into line and column.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

impl Source {
    /// Reads a file; an unreadable file is an error at 1:1.
    pub fn read(path: &Path) -> Result<Source, FileError> {
        std::fs::read_to_string(path)
            .map(|text| Source {
                path: path.to_path_buf(),
                text,
            })
            .map_err(|e| FileError {
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read the file: {e}"),
                hint: "check the path".into(),
            })
    }

    /// 1-based (line, column) of a byte offset (columns count characters).
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// An error at a byte offset.
    pub fn error_at(
        &self,
        offset: usize,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> FileError {
        let (line, column) = self.position(offset);
        FileError {
            file: self.path.clone(),
            line,
            column,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A TOML parse error, placed where the parser says.
    pub fn toml_error(&self, e: &toml::de::Error, hint: &str) -> FileError {
        let offset = e.span().map_or(0, |s| s.start);
        // toml's message carries its own rendering of the line; keep the
        // first sentence.
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        self.error_at(offset, message, hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let s = Source {
            path: "x.toml".into(),
            text: "a = 1\nbé = 2\n".into(),
        };
        assert_eq!(s.position(0), (1, 1));
        assert_eq!(s.position(6), (2, 1));
        assert_eq!(s.position(10), (2, 4));
        let e = s.error_at(6, "bad", "fix it");
        assert_eq!(e.to_string(), "x.toml:2:1: bad\n  hint: fix it");
    }
}

//! The fonts a statement can use: DejaVu Sans embedded in the binary (SPEC 8.8: no system fonts),
//! plus any font files an operator drops into `<templates dir>/fonts/` (SPEC 8.10).
//!
//! DejaVu Sans was chosen over the `typst-assets` set because it covers Latin, Greek and Cyrillic
//! names with one sans family in about 2.7 MB, where `typst-assets` adds 9.6 MB of mostly math fonts.

use std::path::Path;

use typst::foundations::Bytes;
use typst::text::Font;

use crate::error::RenderError;

/// The family name the default template selects.
#[cfg(test)]
const DEFAULT_FAMILY: &str = "DejaVu Sans";

const EMBEDDED: [&[u8]; 4] = [
    include_bytes!("../fonts/DejaVuSans.ttf"),
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSans-Oblique.ttf"),
    include_bytes!("../fonts/DejaVuSans-BoldOblique.ttf"),
];

/// Font file extensions Typst can read.
const FONT_EXTENSIONS: [&str; 4] = ["ttf", "otf", "ttc", "otc"];

/// Parses the embedded fonts, then those of `fonts_dir` when it exists (sorted by file name so the
/// font order, and with it Typst's choice between equal candidates, is stable).
pub fn load(fonts_dir: Option<&Path>) -> Result<Vec<Font>, RenderError> {
    let mut fonts: Vec<Font> = EMBEDDED
        .iter()
        .flat_map(|data| Font::iter(Bytes::new(*data)))
        .collect();
    if let Some(dir) = fonts_dir.filter(|d| d.is_dir()) {
        for path in font_files(dir)? {
            let data = std::fs::read(&path).map_err(|source| RenderError::Io {
                path: path.clone(),
                source,
            })?;
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(RenderError::InvalidFont { path });
            }
        }
    }
    Ok(fonts)
}

fn font_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, RenderError> {
    let io_err = |source| RenderError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        let is_font = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| FONT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if is_font && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_fonts_parse_as_one_family() {
        let fonts = load(None).unwrap();
        assert_eq!(fonts.len(), 4);
        assert!(fonts.iter().all(|f| f.info().family == DEFAULT_FAMILY));
    }

    #[test]
    fn a_file_that_is_not_a_font_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.ttf"), b"not a font").unwrap();
        std::fs::write(dir.path().join("readme.txt"), b"ignored").unwrap();
        let err = load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("broken.ttf"), "{err}");
    }

    #[test]
    fn extra_fonts_are_added_after_the_embedded_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Extra.TTF"), EMBEDDED[0]).unwrap();
        assert_eq!(load(Some(dir.path())).unwrap().len(), 5);
    }
}

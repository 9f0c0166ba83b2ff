//! The Typst `World` a statement is compiled in.
//!
//! Everything expensive (standard library, font book, parsed fonts, parsed template) lives in
//! [`Shared`], built once per [`crate::Renderer`] and shared by reference between worker threads.
//! A [`StatementWorld`] is two pointers: the shared part and the statement's `/data.json` bytes, so
//! creating one per render costs nothing. Files other than the template and `/data.json` resolve
//! inside the templates directory (read once, then cached); packages (`@preview/...`) are refused
//! because statements render offline (SPEC 8.8, no network).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{Datelike, Duration as ChronoDuration, Utc};
use typst::diag::{FileError, FileResult, PackageError, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{DiagSpan, FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};

use crate::error::TemplateDiagnostic;

/// Virtual path of the template data (SPEC 8.10: `#let data = json("/data.json")`).
pub const DATA_PATH: &str = "/data.json";
/// Virtual path of the main template.
const TEMPLATE_PATH: &str = "/statement.typ";

/// The parts of the world that do not change between statements.
pub struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    template: Source,
    template_origin: String,
    data_id: FileId,
    /// The templates directory, root of every other path the template may read.
    root: Option<PathBuf>,
    /// Other files of the templates directory, read on first use (a renderer lives for one
    /// generation run, so an edit during the run does not mix two versions in one batch).
    files: Mutex<HashMap<FileId, FileResult<Bytes>>>,
    sources: Mutex<HashMap<FileId, FileResult<Source>>>,
    /// The configured logo (`statements.branding.logo`) under its virtual path: it may live
    /// outside the templates directory, which is otherwise the only place files come from.
    logo: Option<(FileId, Bytes)>,
}

impl Shared {
    pub fn new(
        template_text: String,
        template_origin: String,
        root: Option<PathBuf>,
        fonts: Vec<Font>,
    ) -> Shared {
        let main_id = project_file(TEMPLATE_PATH);
        Shared {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            template: Source::new(main_id, template_text),
            template_origin,
            data_id: project_file(DATA_PATH),
            root,
            files: Mutex::default(),
            sources: Mutex::default(),
            logo: None,
        }
    }

    /// Serves `bytes` at the virtual `path` (the logo, see [`crate::logo_virtual_path`]).
    pub fn set_logo(&mut self, path: &str, bytes: Vec<u8>) {
        self.logo = Some((project_file(path), Bytes::new(bytes)));
    }

    pub fn template_origin(&self) -> &str {
        &self.template_origin
    }

    /// The world of one statement.
    pub fn world(&self, data: Bytes) -> StatementWorld<'_> {
        StatementWorld { shared: self, data }
    }

    fn read_from_root(&self, id: FileId) -> FileResult<Bytes> {
        if let Some(hit) = lock(&self.files).get(&id) {
            return hit.clone();
        }
        let result = self.read_uncached(id);
        lock(&self.files).insert(id, result.clone());
        result
    }

    fn read_uncached(&self, id: FileId) -> FileResult<Bytes> {
        if let VirtualRoot::Package(package) = id.root() {
            return Err(FileError::Package(PackageError::Other(Some(
                format!(
                    "packages such as {package} are not available: statements render offline; \
                     copy the package's files into the templates directory and import them \
                     by path"
                )
                .into(),
            ))));
        }
        let Some(root) = &self.root else {
            return Err(FileError::NotFound(id.vpath().get_with_slash().into()));
        };
        let path = id.vpath().realize(root).map_err(FileError::Realize)?;
        if path.is_dir() {
            return Err(FileError::IsDirectory);
        }
        std::fs::read(&path)
            .map(Bytes::new)
            .map_err(|e| FileError::from_io(e, &path))
    }

    /// Where a file id points to, in words an operator recognises.
    fn describe_file(&self, id: FileId) -> String {
        if id == self.template.id() {
            return self.template_origin.clone();
        }
        if id == self.data_id {
            return format!("{DATA_PATH} (statement data)");
        }
        match (&self.root, id.root()) {
            (Some(root), VirtualRoot::Project) => match id.vpath().realize(root) {
                Ok(path) => path.display().to_string(),
                Err(_) => id.vpath().get_with_slash().to_string(),
            },
            _ => format!("{:?}", id.get()),
        }
    }
}

/// The world of one statement: the shared part plus its data file.
pub struct StatementWorld<'a> {
    shared: &'a Shared,
    data: Bytes,
}

impl StatementWorld<'_> {
    /// Locates a Typst error: the error's own span, else the innermost call site in a file (an
    /// error inside a built-in function is reported where the template called it).
    pub fn locate(&self, diag: &SourceDiagnostic) -> TemplateDiagnostic {
        let span = std::iter::once(diag.span)
            .chain(diag.trace.iter().rev().map(|t| DiagSpan::from(t.span)))
            .find(|s| s.id().is_some());
        let (file, line, column) = match span {
            Some(span) => {
                let id = span.id().expect("filtered on id");
                let position = self
                    .range(span)
                    .and_then(|range| self.line_column(id, range.start));
                (
                    self.shared.describe_file(id),
                    position.map(|p| p.0 + 1),
                    position.map(|p| p.1 + 1),
                )
            }
            None => (self.shared.template_origin.clone(), None, None),
        };
        TemplateDiagnostic {
            file,
            line,
            column,
            message: diag.message.to_string(),
            hints: diag.hints.iter().map(|h| h.v.to_string()).collect(),
        }
    }

    fn line_column(&self, id: FileId, byte: usize) -> Option<(usize, usize)> {
        match self.source(id) {
            Ok(source) => source.lines().byte_to_line_column(byte),
            // Not a Typst source (e.g. `/data.json`): count lines in the raw bytes.
            Err(_) => {
                let bytes = self.file(id).ok()?;
                let before = bytes.as_slice().get(..byte)?;
                let line = before.iter().filter(|b| **b == b'\n').count();
                let line_start = before
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |p| p + 1);
                let column = String::from_utf8_lossy(&before[line_start..])
                    .chars()
                    .count();
                Some((line, column))
            }
        }
    }
}

impl World for StatementWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.shared.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.shared.book
    }

    fn main(&self) -> FileId {
        self.shared.template.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.shared.template.id() {
            return Ok(self.shared.template.clone());
        }
        if let Some(hit) = lock(&self.shared.sources).get(&id) {
            return hit.clone();
        }
        let result = self.shared.read_from_root(id).and_then(|bytes| {
            let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
            Ok(Source::new(id, text.to_owned()))
        });
        lock(&self.shared.sources).insert(id, result.clone());
        result
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.shared.data_id {
            Ok(self.data.clone())
        } else if let Some((_, logo)) = self.shared.logo.as_ref().filter(|(l, _)| *l == id) {
            Ok(logo.clone())
        } else if id == self.shared.template.id() {
            Ok(Bytes::from_string(self.shared.template.clone()))
        } else {
            self.shared.read_from_root(id)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.shared.fonts.get(index).cloned()
    }

    fn today(&self, offset: Option<Duration>) -> Option<Datetime> {
        // Whole seconds are plenty for a calendar date.
        let seconds = offset.map_or(0, |d| d.seconds() as i64);
        let date = (Utc::now() + ChronoDuration::seconds(seconds)).date_naive();
        Datetime::from_ymd(date.year(), date.month() as u8, date.day() as u8)
    }
}

fn project_file(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("constant or built virtual path is valid");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// A poisoned cache only means another render panicked mid-insert; the map itself is still valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

//! Charge-detail rows drawn by the renderer into the laid-out pages (issue 16, item 10).
//!
//! Laying out a charge row in Typst (realising the cell, shaping each value, breaking the
//! paragraph, placing it in the grid) cost about 1 M instructions, most of a long statement's
//! time. A row whose values all fit on one line needs none of that: [`crate::charge_table`]
//! already knows every glyph's advance and where each value starts. So the default template lays
//! such a row out as a fixed-height table cell holding only a marker, `metadata((ocb-charge-row:
//! i))`; Typst still paginates the table (row heights, repeated header, page breaks), and after
//! layout the renderer puts row `i`'s glyphs where its marker landed. A second marker before the
//! table, `metadata((ocb-charge-colors: (ink, muted)))`, gives the template's colours.
//!
//! The glyphs are those Typst would have produced: DejaVu Sans at 7.5 pt without kerning or
//! ligatures (the template turns both off in the table, so a value is exactly as wide as its
//! advances add up to), the baseline one cap height below the cell's text origin (Typst's default
//! top edge), a struck list price in the muted colour with a 0.6 pt line at the font's
//! strikethrough position. Each run of one colour is one text item, the spacing between values
//! folded into the last advance of a value, so a row is one or three text objects in the PDF.

use typst::foundations::{Dict, Value};
use typst::introspection::{MetadataElem, Tag};
use typst::layout::{Abs, Em, Frame, FrameItem, GroupItem, Point, Size};
use typst::model::Document;
use typst::syntax::Span;
use typst::text::{FontInstance, FontVariant, FontVariations, Glyph, Lang, TextItem};
use typst::visualize::{Color, FixedStroke, Geometry, Paint};
use typst_layout::PagedDocument;

use crate::charge_table::{Advances, ChargeTable, SIZE};

/// Key of a row marker's dictionary; its value is the row's index in `charge_table.rows`.
pub const ROW_KEY: &str = "ocb-charge-row";
/// Key of the colours marker's dictionary; its value is `(ink, muted)`.
pub const COLORS_KEY: &str = "ocb-charge-colors";
/// Thickness of the line through a struck list price (the template's `struck`).
const STRIKE: f64 = 0.6;

/// Replaces every row marker of `document` by its row; an error names a marker that points to no
/// one-line row (a template that marks rows the renderer did not work out).
pub fn paint(
    document: PagedDocument,
    table: &ChargeTable,
    advances: &Advances,
) -> Result<PagedDocument, String> {
    if !document.pages().iter().any(|p| has_marker(&p.frame)) {
        return Ok(document);
    }
    let mut painter = Painter::new(table, advances);
    let mut pages = document.pages().to_vec();
    for page in &mut pages {
        painter.frame(&mut page.frame);
    }
    match painter.error {
        Some(e) => Err(e),
        None => Ok(PagedDocument::new(
            pages.into_iter().collect(),
            document.info().clone(),
        )),
    }
}

fn marker(item: &FrameItem) -> Option<&Dict> {
    let FrameItem::Tag(Tag::Start(content, _)) = item else {
        return None;
    };
    match &content.to_packed::<MetadataElem>()?.value {
        Value::Dict(d) if d.contains(ROW_KEY) || d.contains(COLORS_KEY) => Some(d),
        _ => None,
    }
}

fn has_marker(frame: &Frame) -> bool {
    frame.items().any(|(_, item)| match item {
        FrameItem::Group(group) => has_marker(&group.frame),
        item => marker(item).is_some(),
    })
}

struct Painter<'a> {
    table: &'a ChargeTable,
    advances: &'a Advances,
    font: FontInstance,
    ink: Paint,
    muted: Paint,
    error: Option<String>,
}

impl<'a> Painter<'a> {
    fn new(table: &'a ChargeTable, advances: &'a Advances) -> Painter<'a> {
        let font = advances.regular_font.clone().instantiate(
            FontVariant::default(),
            Abs::pt(SIZE),
            &FontVariations::default(),
        );
        Painter {
            table,
            advances,
            font,
            // The default template's `ink` and `muted`, until its colours marker says otherwise.
            ink: Paint::Solid(Color::from_u8(51, 51, 51, 255)),
            muted: Paint::Solid(Color::from_u8(102, 102, 102, 255)),
            error: None,
        }
    }

    /// Paints the markers of `frame` and its groups, in document order. Only frames that hold a
    /// marker are touched: a frame is shared with Typst's caches and copied when changed.
    fn frame(&mut self, frame: &mut Frame) {
        if !has_marker(frame) {
            return;
        }
        frame.retain(|item| {
            if let FrameItem::Group(group) = item {
                self.frame(&mut group.frame);
            } else if let Some(dict) = marker(item) {
                let painted = self.marked(dict);
                match painted {
                    Ok(Some(row)) => *item = row,
                    Ok(None) => {}
                    Err(e) => {
                        self.error.get_or_insert(e);
                    }
                }
            }
            true
        });
    }

    /// The row a marker stands for, or none for the colours marker (which sets the colours).
    fn marked(&mut self, dict: &Dict) -> Result<Option<FrameItem>, String> {
        if let Ok(Value::Array(colors)) = dict.get(COLORS_KEY) {
            if let [Value::Color(ink), Value::Color(muted)] = colors.as_slice() {
                self.ink = Paint::Solid(ink.clone());
                self.muted = Paint::Solid(muted.clone());
            }
            return Ok(None);
        }
        let index = match dict.get(ROW_KEY) {
            Ok(Value::Int(i)) => usize::try_from(*i).ok(),
            _ => None,
        };
        let row = index
            .and_then(|i| self.row(i))
            .ok_or_else(|| format!("charge-details marker {dict:?} names no one-line row"))?;
        Ok(Some(row))
    }

    /// Row `i` as a group of text items (and the strike line), placed at the marker.
    fn row(&self, i: usize) -> Option<FrameItem> {
        let row = self.table.rows.get(i)?;
        let spans = row.spans.as_ref()?;
        let size = Abs::pt(SIZE);
        let metrics = self.font.metrics();
        let baseline = metrics.cap_height.at(size);
        let mut frame = Frame::soft(Size::zero());
        let mut run: Option<Run> = None;
        for (k, (value, &(x, width))) in row.values.iter().zip(spans).enumerate() {
            let muted = row.struck && self.table.list_column == Some(k);
            match &mut run {
                Some(r) if r.muted == muted => r.space_to(x, size),
                _ => {
                    if let Some(done) = run.take() {
                        frame.push(Point::new(done.x, baseline), self.text(done));
                    }
                    run = Some(Run::new(x, muted));
                }
            }
            let r = run.as_mut().expect("a run was started above");
            for c in value.chars() {
                let (id, advance) = self.advances.glyph(c)?;
                r.push(c, id, advance, size)?;
            }
            if muted {
                let line = Geometry::Line(Point::with_x(Abs::pt(width)))
                    .stroked(FixedStroke::from_pair(self.muted.clone(), Abs::pt(STRIKE)));
                let y = baseline - metrics.strikethrough.position.at(size);
                frame.push(
                    Point::new(Abs::pt(x), y),
                    FrameItem::Shape(line, Span::detached()),
                );
            }
        }
        if let Some(done) = run {
            frame.push(Point::new(done.x, baseline), self.text(done));
        }
        Some(FrameItem::Group(GroupItem::new(frame)))
    }

    fn text(&self, run: Run) -> FrameItem {
        FrameItem::Text(TextItem {
            font: self.font.clone(),
            size: Abs::pt(SIZE),
            fill: if run.muted {
                self.muted.clone()
            } else {
                self.ink.clone()
            },
            stroke: None,
            lang: Lang::ENGLISH,
            region: None,
            text: run.text.into(),
            glyphs: run.glyphs,
        })
    }
}

/// Consecutive values of one colour: one text item.
struct Run {
    x: Abs,
    muted: bool,
    text: String,
    glyphs: Vec<Glyph>,
    /// Where the run's pen is, from `x`, in pt.
    pen: f64,
}

impl Run {
    fn new(x: f64, muted: bool) -> Run {
        Run {
            x: Abs::pt(x),
            muted,
            text: String::new(),
            glyphs: Vec::new(),
            pen: x,
        }
    }

    /// Moves the pen to `x` by widening the last glyph's advance (the gap between two values).
    fn space_to(&mut self, x: f64, size: Abs) {
        if let Some(last) = self.glyphs.last_mut() {
            last.x_advance += Em::new((x - self.pen) / size.to_pt());
        }
        self.pen = x;
    }

    /// Adds a glyph; none when the run's text outgrows a glyph's u16 text range (a one-line row
    /// is far shorter, so this only guards against a corrupt table).
    fn push(&mut self, c: char, id: u16, advance: f64, size: Abs) -> Option<()> {
        let start = u16::try_from(self.text.len()).ok()?;
        self.text.push(c);
        let range = start..u16::try_from(self.text.len()).ok()?;
        self.glyphs.push(Glyph {
            id,
            x_advance: Em::new(advance),
            x_offset: Em::zero(),
            y_advance: Em::zero(),
            y_offset: Em::zero(),
            range,
            span: (Span::detached(), 0),
        });
        self.pen += advance * size.to_pt();
        Some(())
    }
}

//! Parquet page headers checked before any page is decoded (issue 15; found by the `parquet`
//! fuzz target).
//!
//! The parquet crate (60.x) allocates a page's declared uncompressed size before decompressing
//! it, and checks only that the size is not negative (apache/arrow-rs#10734, fix proposed in
//! #10821): a corrupt file of a few hundred bytes made it allocate 800 MB, and up to 2 GiB per
//! column. Here every page header of every column chunk is read first, with a small Thrift
//! compact-protocol walk over the header bytes, and the file is refused when a page declares
//! more uncompressed bytes than its column chunk holds in total (the bound #10821 adds), more
//! than [`MAX_PAGE_BYTES`], or when the pages decoded side by side (one per column of a row
//! group) would need more than [`MAX_ROW_GROUP_PAGE_BYTES`]. Reading the headers costs one
//! small read per page; no page data is decoded.

use bytes::Bytes;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;

/// Largest uncompressed page accepted: 128 MiB. Writers use pages of about 1 MiB (the
/// parquet-format default), a few use 8 MiB.
pub const MAX_PAGE_BYTES: u64 = 128 << 20;

/// Largest sum, over the columns of one row group, of their biggest page (the row reader holds
/// one page per column at a time): 1 GiB. A FOCUS export with 100 columns of 1 MiB pages needs
/// 100 MiB.
pub const MAX_ROW_GROUP_PAGE_BYTES: u64 = 1 << 30;

/// Page headers are small (a few dozen bytes, more with statistics); they are read with a window
/// that grows to this size before the header counts as corrupt.
const MAX_HEADER_BYTES: usize = 16 << 20;

/// Checks every page header of the file; the error says what is wrong, for a file error.
pub fn check_page_sizes<R: ChunkReader>(meta: &ParquetMetaData, file: &R) -> Result<(), String> {
    for (g, group) in meta.row_groups().iter().enumerate() {
        let mut concurrent = 0u64;
        for column in group.columns() {
            let (start, len) = byte_range(column)?;
            let declared = u64::try_from(column.uncompressed_size()).unwrap_or(0);
            let biggest = check_chunk(file, start, len, declared.min(MAX_PAGE_BYTES))
                .map_err(|e| format!("row group {g}, column {}: {e}", column.column_path()))?;
            concurrent = concurrent.saturating_add(biggest);
        }
        if concurrent > MAX_ROW_GROUP_PAGE_BYTES {
            return Err(format!(
                "row group {g}: its pages need {concurrent} bytes at once, more than the \
                 {} MiB accepted",
                MAX_ROW_GROUP_PAGE_BYTES >> 20
            ));
        }
    }
    Ok(())
}

/// Where a column chunk lies, as `ColumnChunkMetaData::byte_range` says, without its panic on
/// negative values (those files are refused here; the row reader contains the panic too).
fn byte_range(column: &parquet::file::metadata::ColumnChunkMetaData) -> Result<(u64, u64), String> {
    let start = column
        .dictionary_page_offset()
        .unwrap_or_else(|| column.data_page_offset());
    match (
        u64::try_from(start),
        u64::try_from(column.compressed_size()),
    ) {
        (Ok(start), Ok(len)) => Ok((start, len)),
        _ => Err(format!(
            "column {} has a negative offset or size: corrupt file",
            column.column_path()
        )),
    }
}

/// Walks the pages of one column chunk (`len` bytes from `start`); returns the largest declared
/// uncompressed page size, or why a page is refused.
fn check_chunk<R: ChunkReader>(file: &R, start: u64, len: u64, limit: u64) -> Result<u64, String> {
    let end = start
        .checked_add(len)
        .ok_or("the column chunk lies beyond any file")?;
    let (mut pos, mut biggest) = (start, 0u64);
    while pos < end {
        let page = read_header(file, pos, end)?;
        if page.uncompressed > limit {
            return Err(format!(
                "a page declares {} uncompressed bytes, more than its column chunk allows \
                 ({limit}; at most {} MiB per page): corrupt file",
                page.uncompressed,
                MAX_PAGE_BYTES >> 20
            ));
        }
        biggest = biggest.max(page.uncompressed);
        pos = pos
            .checked_add(page.header_len + page.compressed)
            .filter(|p| *p <= end)
            .ok_or("a page runs past the end of its column chunk: corrupt file")?;
    }
    Ok(biggest)
}

/// The sizes one page header declares.
#[derive(Debug, PartialEq, Eq)]
struct PageSizes {
    header_len: u64,
    uncompressed: u64,
    compressed: u64,
}

/// Reads the header at `pos`, with a window that grows until the header fits.
fn read_header<R: ChunkReader>(file: &R, pos: u64, end: u64) -> Result<PageSizes, String> {
    let mut window = 256usize;
    loop {
        let available = usize::try_from(end - pos).unwrap_or(usize::MAX);
        let want = window.min(available);
        let bytes: Bytes = file
            .get_bytes(pos, want)
            .map_err(|e| format!("cannot read a page header: {e}"))?;
        match parse_page_header(&bytes) {
            Ok(sizes) => return Ok(sizes),
            Err(Short) if want < available && window < MAX_HEADER_BYTES => window *= 16,
            Err(_) => return Err("unreadable page header: corrupt file".into()),
        }
    }
}

/// The bytes ran out (or were malformed) before the header ended.
#[derive(Debug, PartialEq, Eq)]
struct Short;

/// Reads `PageHeader` fields 2 (`uncompressed_page_size`) and 3 (`compressed_page_size`) of
/// the Thrift compact encoding and skips the rest, returning the header's length.
fn parse_page_header(bytes: &[u8]) -> Result<PageSizes, Short> {
    let mut c = Compact { b: bytes, i: 0 };
    let (mut uncompressed, mut compressed) = (None, None);
    let mut id = 0i64;
    loop {
        let header = c.byte()?;
        if header == 0 {
            break;
        }
        id = c.field_id(header, id)?;
        let ty = header & 0x0f;
        match (id, ty) {
            (2, 5) => uncompressed = Some(c.zigzag()?),
            (3, 5) => compressed = Some(c.zigzag()?),
            _ => c.skip(ty, 0)?,
        }
    }
    let size = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).ok_or(Short);
    Ok(PageSizes {
        header_len: c.i as u64,
        uncompressed: size(uncompressed)?,
        compressed: size(compressed)?,
    })
}

/// A cursor over Thrift compact-protocol bytes.
struct Compact<'a> {
    b: &'a [u8],
    i: usize,
}

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, Short> {
        let b = *self.b.get(self.i).ok_or(Short)?;
        self.i += 1;
        Ok(b)
    }

    fn advance(&mut self, n: u64) -> Result<(), Short> {
        let n = usize::try_from(n).map_err(|_| Short)?;
        self.i = self
            .i
            .checked_add(n)
            .filter(|&i| i <= self.b.len())
            .ok_or(Short)?;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, Short> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).ok_or(Short)?;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Short)
    }

    fn zigzag(&mut self) -> Result<i64, Short> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// The id of the field whose header byte is `header`, after field `last`.
    fn field_id(&mut self, header: u8, last: i64) -> Result<i64, Short> {
        match header >> 4 {
            0 => self.zigzag(),
            delta => Ok(last + i64::from(delta)),
        }
    }

    /// Skips one value of compact type `ty` (`depth` bounds nesting).
    fn skip(&mut self, ty: u8, depth: u32) -> Result<(), Short> {
        if depth > 32 {
            return Err(Short);
        }
        match ty {
            1 | 2 => Ok(()),
            3 => self.advance(1),
            4..=6 => self.varint().map(drop),
            7 => self.advance(8),
            8 => {
                let n = self.varint()?;
                self.advance(n)
            }
            9 | 10 => self.skip_list(depth),
            11 => self.skip_map(depth),
            12 => self.skip_struct(depth),
            _ => Err(Short),
        }
    }

    fn skip_list(&mut self, depth: u32) -> Result<(), Short> {
        let h = self.byte()?;
        let mut n = u64::from(h >> 4);
        if n == 15 {
            n = self.varint()?;
        }
        // Every element takes at least one byte, so running out of bytes ends the loop.
        for _ in 0..n {
            self.skip_element(h & 0x0f, depth)?;
        }
        Ok(())
    }

    fn skip_map(&mut self, depth: u32) -> Result<(), Short> {
        let n = self.varint()?;
        if n == 0 {
            return Ok(());
        }
        let kv = self.byte()?;
        for _ in 0..n {
            self.skip_element(kv >> 4, depth)?;
            self.skip_element(kv & 0x0f, depth)?;
        }
        Ok(())
    }

    fn skip_struct(&mut self, depth: u32) -> Result<(), Short> {
        let mut id = 0;
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(());
            }
            id = self.field_id(header, id)?;
            self.skip(header & 0x0f, depth + 1)?;
        }
    }

    /// A list or map element: booleans take a byte each there.
    fn skip_element(&mut self, ty: u8, depth: u32) -> Result<(), Short> {
        match ty {
            1 | 2 => self.advance(1),
            _ => self.skip(ty, depth + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact-encoded PageHeader: type DATA_PAGE, the two sizes, a CRC, and a data page
    /// header struct with a nested statistics struct and a list.
    fn header(uncompressed: i32, compressed: i32) -> Vec<u8> {
        let zz = |v: i64| {
            let mut z = ((v << 1) ^ (v >> 63)) as u64;
            let mut out = Vec::new();
            loop {
                let b = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(b);
                    return out;
                }
                out.push(b | 0x80);
            }
        };
        let mut h = vec![0x15];
        h.extend(zz(0));
        h.push(0x15);
        h.extend(zz(uncompressed.into()));
        h.push(0x15);
        h.extend(zz(compressed.into()));
        h.push(0x15);
        h.extend(zz(-12345));
        // field 5: struct { 1: i32, 5: struct { 1: binary "ab", 2: list<i32>[3] } }
        h.extend([
            0x1c, 0x15, 0x02, 0x4c, 0x18, 0x02, b'a', b'b', 0x19, 0x35, 2, 4, 6, 0x00,
        ]);
        h.push(0x00);
        h.push(0x00);
        h
    }

    #[test]
    fn sizes_and_header_length_are_read() {
        let h = header(1_000_000, 5000);
        assert_eq!(
            parse_page_header(&h),
            Ok(PageSizes {
                header_len: h.len() as u64,
                uncompressed: 1_000_000,
                compressed: 5000
            })
        );
    }

    #[test]
    fn truncated_or_negative_headers_are_short() {
        let h = header(10, 10);
        for cut in 0..h.len() {
            assert_eq!(parse_page_header(&h[..cut]), Err(Short), "cut at {cut}");
        }
        assert_eq!(parse_page_header(&header(-1, 10)), Err(Short));
        assert_eq!(parse_page_header(&[0x19, 0xff, 0xff, 0xff]), Err(Short));
    }
}

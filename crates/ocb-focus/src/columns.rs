//! The FOCUS column table and header recognition (SPEC §3.3, Appendix A).
//!
//! [`FocusColumn`] is generated from ONE table holding every column of the Cost and Usage dataset
//! of FOCUS 1.0, 1.1, 1.2 and 1.3 with the version that introduced it, as published in the FOCUS
//! specification changelogs (1.1: November 2024, 1.2: June 2025, 1.3: December 2025). Columns of
//! later versions are not in the table and are therefore kept in `extra` like unknown columns.
//!
//! A header matches a column when, after trimming, lower-casing and removing `_`, it equals the
//! lower-cased column ID, so `billed_cost` means `BilledCost` (upstream accepted snake_case).

use crate::diag::{Code, Diagnostic, LineRef};
use crate::error::{FileError, FileErrorKind};
use std::fmt;
use std::path::Path;

/// A FOCUS specification version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FocusVersion {
    /// FOCUS 1.0 (June 2024). Includes everything from 0.5 and 1.0-preview still defined in 1.0.
    V1_0,
    /// FOCUS 1.1 (November 2024).
    V1_1,
    /// FOCUS 1.2 (June 2025).
    V1_2,
    /// FOCUS 1.3 (December 2025).
    V1_3,
}

impl FocusVersion {
    /// `1.0`, `1.1`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
            Self::V1_2 => "1.2",
            Self::V1_3 => "1.3",
        }
    }
}

impl fmt::Display for FocusVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! focus_columns {
    ($($name:ident => $version:ident,)*) => {
        /// A column of the FOCUS Cost and Usage dataset (versions 1.0 to 1.3).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FocusColumn {
            $(
                #[doc = concat!("`", stringify!($name), "` (since FOCUS ")]
                #[doc = stringify!($version)]
                #[doc = ")."]
                $name,
            )*
        }

        impl FocusColumn {
            /// Every recognised column, in table order.
            pub const ALL: &'static [FocusColumn] = &[$(FocusColumn::$name,)*];

            /// The column ID as the FOCUS specification spells it.
            pub fn id(self) -> &'static str {
                match self {
                    $(FocusColumn::$name => stringify!($name),)*
                }
            }

            /// The FOCUS version that introduced the column.
            pub fn introduced(self) -> FocusVersion {
                match self {
                    $(FocusColumn::$name => FocusVersion::$version,)*
                }
            }
        }
    };
}

// The single table of Appendix A. Sources: FOCUS_Spec CHANGELOG.md ("Columns History" and the
// per-version "Added" lists) and the 1.3 release (provider disambiguation, split cost allocation,
// contract commitments). `ProviderName` and `PublisherName` are deprecated in 1.3 but still
// defined, so they stay recognised.
focus_columns! {
    AvailabilityZone => V1_0,
    BilledCost => V1_0,
    BillingAccountId => V1_0,
    BillingAccountName => V1_0,
    BillingCurrency => V1_0,
    BillingPeriodEnd => V1_0,
    BillingPeriodStart => V1_0,
    ChargeCategory => V1_0,
    ChargeClass => V1_0,
    ChargeDescription => V1_0,
    ChargeFrequency => V1_0,
    ChargePeriodEnd => V1_0,
    ChargePeriodStart => V1_0,
    CommitmentDiscountCategory => V1_0,
    CommitmentDiscountId => V1_0,
    CommitmentDiscountName => V1_0,
    CommitmentDiscountStatus => V1_0,
    CommitmentDiscountType => V1_0,
    ConsumedQuantity => V1_0,
    ConsumedUnit => V1_0,
    ContractedCost => V1_0,
    ContractedUnitPrice => V1_0,
    EffectiveCost => V1_0,
    InvoiceIssuerName => V1_0,
    ListCost => V1_0,
    ListUnitPrice => V1_0,
    PricingCategory => V1_0,
    PricingQuantity => V1_0,
    PricingUnit => V1_0,
    ProviderName => V1_0,
    PublisherName => V1_0,
    RegionId => V1_0,
    RegionName => V1_0,
    ResourceId => V1_0,
    ResourceName => V1_0,
    ResourceType => V1_0,
    ServiceCategory => V1_0,
    ServiceName => V1_0,
    SkuId => V1_0,
    SkuPriceId => V1_0,
    SubAccountId => V1_0,
    SubAccountName => V1_0,
    Tags => V1_0,
    CapacityReservationId => V1_1,
    CapacityReservationStatus => V1_1,
    CommitmentDiscountQuantity => V1_1,
    CommitmentDiscountUnit => V1_1,
    ServiceSubcategory => V1_1,
    SkuMeter => V1_1,
    SkuPriceDetails => V1_1,
    BillingAccountType => V1_2,
    SubAccountType => V1_2,
    InvoiceId => V1_2,
    PricingCurrency => V1_2,
    PricingCurrencyContractedUnitPrice => V1_2,
    PricingCurrencyEffectiveCost => V1_2,
    PricingCurrencyListUnitPrice => V1_2,
    ServiceProviderName => V1_3,
    HostProviderName => V1_3,
    AllocatedMethodId => V1_3,
    AllocatedMethodDetails => V1_3,
    AllocatedResourceId => V1_3,
    AllocatedResourceName => V1_3,
    AllocatedTags => V1_3,
    ContractApplied => V1_3,
}

/// Number of recognised columns.
pub const COLUMN_COUNT: usize = FocusColumn::ALL.len();

impl FocusColumn {
    /// Recognises a header name (SPEC §3.3): trim, lower-case, drop `_`, compare to the ID.
    pub fn recognise(header: &str) -> Option<FocusColumn> {
        let key: String = header
            .trim()
            .chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        FocusColumn::ALL
            .iter()
            .copied()
            .find(|c| c.id().eq_ignore_ascii_case(&key))
    }

    /// Position in [`FocusColumn::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Is this one of the named fields stored outside `extra` (SPEC §3.1: the lite columns plus
    /// the identity columns)?
    pub fn is_named(self) -> bool {
        use FocusColumn::*;
        matches!(
            self,
            BillingPeriodStart
                | BillingPeriodEnd
                | ChargePeriodStart
                | ChargePeriodEnd
                | ListCost
                | ContractedCost
                | BilledCost
                | EffectiveCost
                | ResourceId
                | ResourceName
                | ServiceName
                | Tags
                | ChargeCategory
                | ChargeClass
                | ChargeDescription
                | SkuId
                | SkuPriceId
        )
    }
}

impl fmt::Display for FocusColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The four cost columns read as exact decimals (SPEC §3.4).
pub const COST_COLUMNS: [FocusColumn; 4] = [
    FocusColumn::BilledCost,
    FocusColumn::ListCost,
    FocusColumn::ContractedCost,
    FocusColumn::EffectiveCost,
];

/// The four date columns (SPEC §3.4).
pub const DATE_COLUMNS: [FocusColumn; 4] = [
    FocusColumn::BillingPeriodStart,
    FocusColumn::BillingPeriodEnd,
    FocusColumn::ChargePeriodStart,
    FocusColumn::ChargePeriodEnd,
];

/// The recognised header of one input: which FOCUS columns are where, and the other columns.
#[derive(Debug, Clone)]
pub struct Columns {
    headers: Vec<String>,
    mapped: Vec<Option<FocusColumn>>,
    index: [Option<usize>; COLUMN_COUNT],
    extra: Vec<usize>,
}

impl Columns {
    /// Recognises a header. Names are trimmed (a leading BOM must already be removed).
    ///
    /// Errors: duplicate mapped columns, missing `BillingPeriodStart` / `BilledCost`.
    pub fn recognise(path: &Path, names: &[&str]) -> Result<Columns, FileError> {
        let mut headers = Vec::with_capacity(names.len());
        let mut mapped = Vec::with_capacity(names.len());
        let mut index = [None; COLUMN_COUNT];
        let mut extra = Vec::new();
        for (pos, raw) in names.iter().enumerate() {
            let name = raw.trim().to_string();
            let col = FocusColumn::recognise(&name);
            if let Some(c) = col {
                if let Some(first) = index[c.index()] {
                    let first_name: &String = &headers[first];
                    return Err(FileError::new(
                        path,
                        FileErrorKind::DuplicateColumn,
                        format!(
                            "duplicate column {c}: headers \"{first_name}\" (column {}) and \
                             \"{name}\" (column {}) both mean {c}",
                            first + 1,
                            pos + 1
                        ),
                    ));
                }
                index[c.index()] = Some(pos);
            }
            if !col.is_some_and(FocusColumn::is_named) {
                extra.push(pos);
            }
            headers.push(name);
            mapped.push(col);
        }
        let columns = Columns {
            headers,
            mapped,
            index,
            extra,
        };
        columns.check_required(path, names)?;
        Ok(columns)
    }

    fn check_required(&self, path: &Path, names: &[&str]) -> Result<(), FileError> {
        let missing: Vec<&str> = [FocusColumn::BillingPeriodStart, FocusColumn::BilledCost]
            .into_iter()
            .filter(|c| self.position(*c).is_none())
            .map(FocusColumn::id)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let noun = if missing.len() == 1 {
            "column"
        } else {
            "columns"
        };
        let mut message = format!("missing required {noun} {}", missing.join(", "));
        if let Some(hint) = delimiter_hint(names) {
            message.push_str(&format!("; {hint}"));
        }
        Err(FileError::new(path, FileErrorKind::MissingColumns, message))
    }

    /// Where a FOCUS column is (0-based position), if present.
    pub fn position(&self, col: FocusColumn) -> Option<usize> {
        self.index[col.index()]
    }

    /// Is the column present?
    pub fn has(&self, col: FocusColumn) -> bool {
        self.position(col).is_some()
    }

    /// Does the input have a `Tags` column?
    pub fn has_tags(&self) -> bool {
        self.has(FocusColumn::Tags)
    }

    /// The header names (trimmed, otherwise as written), in input order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when there are no columns (never after successful recognition).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The FOCUS column at a position, if the header was recognised.
    pub fn mapped(&self, pos: usize) -> Option<FocusColumn> {
        self.mapped.get(pos).copied().flatten()
    }

    /// Positions of the columns kept in `extra` (everything but the named fields), input order.
    pub fn extra_positions(&self) -> &[usize] {
        &self.extra
    }

    /// Headers that are neither FOCUS columns nor `x_`-prefixed (validate rule W5).
    pub fn unknown_headers(&self) -> Vec<&str> {
        self.headers
            .iter()
            .zip(&self.mapped)
            .filter(|(h, m)| m.is_none() && !h.starts_with("x_"))
            .map(|(h, _)| h.as_str())
            .collect()
    }

    /// File-level warnings: `W_NO_TAGS_COLUMN` when there is no `Tags` column.
    pub fn file_warnings(&self) -> Vec<Diagnostic> {
        if self.has_tags() {
            return Vec::new();
        }
        vec![Diagnostic::new(
            LineRef::line(1),
            None,
            None,
            Code::WNoTagsColumn,
            "no Tags column: no row can be attributed (every row is flagged missing_pi_email)",
        )]
    }
}

/// When a header came out as one column, a different delimiter is the likely cause.
fn delimiter_hint(names: &[&str]) -> Option<String> {
    if names.len() != 1 {
        return None;
    }
    let only = names[0];
    [(';', "';'"), ('\t', "tab"), ('|', "'|'")]
        .into_iter()
        .find(|(c, _)| only.contains(*c))
        .map(|(_, label)| format!("the header looks {label}-delimited; only comma is supported"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("BilledCost", Some(FocusColumn::BilledCost))]
    #[case("billedcost", Some(FocusColumn::BilledCost))]
    #[case(" BILLEDCOST ", Some(FocusColumn::BilledCost))]
    #[case("billed_cost", Some(FocusColumn::BilledCost))]
    #[case(
        "Pricing_Currency_Effective_Cost",
        Some(FocusColumn::PricingCurrencyEffectiveCost)
    )]
    #[case("ServiceProviderName", Some(FocusColumn::ServiceProviderName))]
    #[case("x_Discount", None)]
    #[case("Id", None)]
    #[case("Billed Cost", None)]
    fn headers_are_recognised_loosely(#[case] header: &str, #[case] want: Option<FocusColumn>) {
        assert_eq!(FocusColumn::recognise(header), want);
    }

    #[test]
    fn table_matches_appendix_a() {
        let count = |v| {
            FocusColumn::ALL
                .iter()
                .filter(|c| c.introduced() == v)
                .count()
        };
        assert_eq!(count(FocusVersion::V1_0), 43);
        assert_eq!(count(FocusVersion::V1_1), 7);
        assert_eq!(count(FocusVersion::V1_2), 7);
        assert_eq!(count(FocusVersion::V1_3), 8);
        for (i, c) in FocusColumn::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(FocusColumn::recognise(c.id()), Some(*c));
        }
    }

    #[test]
    fn duplicate_mapped_columns_are_a_file_error() {
        let err = Columns::recognise(
            Path::new("a.csv"),
            &["BilledCost", "BillingPeriodStart", "billed_cost"],
        )
        .expect_err("duplicate");
        assert_eq!(err.kind, FileErrorKind::DuplicateColumn);
        assert!(
            err.to_string().contains("duplicate column BilledCost"),
            "{err}"
        );
    }

    #[rstest]
    #[case(&["BilledCost", "Tags"], "missing required column BillingPeriodStart")]
    #[case(&["Tags"], "missing required columns BillingPeriodStart, BilledCost")]
    #[case(
        &["BillingPeriodStart;BilledCost;Tags"],
        "looks ';'-delimited; only comma is supported"
    )]
    fn missing_required_columns_are_named(#[case] names: &[&str], #[case] want: &str) {
        let err = Columns::recognise(Path::new("aws.csv"), names).expect_err("missing");
        assert_eq!(err.kind, FileErrorKind::MissingColumns);
        assert!(err.to_string().starts_with("aws.csv: "), "{err}");
        assert!(err.to_string().contains(want), "{err}");
    }

    #[test]
    fn extra_positions_exclude_named_fields() {
        let c = Columns::recognise(
            Path::new("a.csv"),
            &[
                "BillingPeriodStart",
                " BilledCost ",
                "BillingCurrency",
                "x_Foo",
                "SkuId",
                "Id",
            ],
        )
        .expect("valid");
        assert_eq!(c.extra_positions(), &[2, 3, 5]);
        assert_eq!(c.headers()[1], "BilledCost");
        assert_eq!(c.unknown_headers(), vec!["Id"]);
        assert!(!c.has_tags());
        assert_eq!(c.file_warnings()[0].code, Code::WNoTagsColumn);
    }
}

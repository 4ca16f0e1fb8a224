//! Which column holds what: recognised by header name for Salesforce Account, HubSpot
//! company, Pipedrive organization, Dynamics 365 account and Zoho CRM account exports and
//! generic spreadsheets; explicit assignments override.

use super::population::StatusMemo;
use super::Account;
use crate::error::{ErrorKind, Result};

/// What a column is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// CRM record id.
    RecordId,
    /// Company name.
    Name,
    /// Website, URL or domain (several columns allowed).
    Website,
    /// E-mail address (several columns allowed).
    Email,
    /// Country.
    Country,
    /// Status, type or lifecycle stage, mapped to a population.
    Status,
    /// Account owner.
    Owner,
    /// Pipeline amount.
    Amount,
}

impl Role {
    /// Parses a role name as used on the command line (`name`, `website`, `record_id`, ...).
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "id" | "record_id" => Role::RecordId,
            "name" | "company" => Role::Name,
            "website" | "domain" | "url" => Role::Website,
            "email" | "e_mail" => Role::Email,
            "country" => Role::Country,
            "status" | "population" | "type" | "stage" => Role::Status,
            "owner" => Role::Owner,
            "amount" | "pipeline" => Role::Amount,
            _ => return None,
        })
    }
}

/// An explicit `role = column header` assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnOverride {
    /// The role.
    pub role: Role,
    /// The header name, matched case-insensitively.
    pub column: String,
}

impl ColumnOverride {
    /// A new assignment.
    pub fn new(role: Role, column: impl Into<String>) -> Self {
        Self {
            role,
            column: column.into(),
        }
    }

    /// Parses `role=Header Name`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (role, column) = spec
            .split_once('=')
            .ok_or_else(|| crate::Error::config(format!("column mapping {spec:?} is not of the form ROLE=HEADER")))?;
        let role = Role::parse(role.trim()).ok_or_else(|| {
            crate::Error::config(format!(
                "unknown column role {:?} in {spec:?}; roles: record_id, name, website, email, country, status, owner, amount",
                role.trim()
            ))
        })?;
        Ok(Self::new(role, column.trim()))
    }
}

/// The CRM a file's header looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CrmLayout {
    /// Salesforce Account export (Account ID, Account Name, Billing Country, ...).
    Salesforce,
    /// HubSpot company export (Record ID, Company name, Company Domain Name, ...).
    Hubspot,
    /// Pipedrive organization export (Organization - Name, Organization - Label, ...).
    Pipedrive,
    /// Dynamics 365 account export ((Do Not Modify) Account, Account Name, Address 1:
    /// Country/Region, Relationship Type, ...).
    Dynamics365,
    /// Zoho CRM account export (Record Id, Account Name, Account Type, Billing Country, ...).
    Zoho,
    /// Any other header with recognisable names.
    Generic,
}

/// Column indexes per role, for one header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ColumnMap {
    /// The CRM the header looks like.
    pub layout: CrmLayout,
    /// Record id column.
    pub record_id: Option<usize>,
    /// Name column.
    pub name: Option<usize>,
    /// Website / domain columns.
    pub websites: Vec<usize>,
    /// E-mail columns.
    pub emails: Vec<usize>,
    /// Country column.
    pub country: Option<usize>,
    /// Status column.
    pub status: Option<usize>,
    /// Owner column.
    pub owner: Option<usize>,
    /// Amount column.
    pub amount: Option<usize>,
    /// Every other column, kept for reports.
    pub extras: Vec<usize>,
}

/// Header names (lowercase, letters and digits only) per role, most specific first.
const NAMES: &[(Role, &[&str])] = &[
    (
        Role::RecordId,
        &[
            "accountid",
            "recordid",
            "organizationid",
            "donotmodifyaccount",
            "companyid",
            "hubspotid",
            "crmid",
            "id",
            "accountnumber",
        ],
    ),
    (
        Role::Name,
        &[
            "accountname",
            "companyname",
            "company",
            "name",
            "organization",
            "organisation",
            "organizationname",
            "account",
            "customer",
            "customername",
            "legalname",
            "firma",
            "firmenname",
            "unternehmen",
            "entreprise",
            "societe",
            "empresa",
            "bedrijf",
            "azienda",
        ],
    ),
    (
        Role::Website,
        &[
            "website",
            "websiteurl",
            "companydomainname",
            "domain",
            "domainname",
            "companydomain",
            "url",
            "web",
            "homepage",
            "site",
            "companywebsite",
        ],
    ),
    (
        Role::Email,
        &[
            "email",
            "emailaddress",
            "primaryemail",
            "contactemail",
            "companyemail",
            "mail",
        ],
    ),
    (
        Role::Country,
        &[
            "billingcountry",
            "countryregion",
            "address1countryregion",
            "organizationcountryofaddress",
            "organizationaddresscountry",
            "country",
            "billingcountrycode",
            "countrycode",
            "shippingcountry",
            "hqcountry",
            "region",
            "land",
            "pays",
            "pais",
            "paese",
        ],
    ),
    (
        Role::Status,
        &[
            "type",
            "accounttype",
            "lifecyclestage",
            "status",
            "accountstatus",
            "stage",
            "relationship",
            "relationshiptype",
            "organizationlabel",
            "label",
            "population",
            "segment",
        ],
    ),
    (
        Role::Owner,
        &[
            "accountowner",
            "companyowner",
            "owner",
            "hubspotowner",
            "organizationowner",
            "ownername",
            "accountownername",
            "salesrep",
        ],
    ),
    (
        Role::Amount,
        &[
            "amount",
            "pipelineamount",
            "openpipeline",
            "opportunityamount",
            "dealamount",
            "pipelinevalue",
            "pipeline",
            "totalopenpipeline",
        ],
    ),
];

fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl ColumnMap {
    /// Detects the roles of a header's columns, then applies the overrides.
    pub fn detect(headers: &[String], overrides: &[ColumnOverride], source: &str) -> Result<ColumnMap> {
        let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
        let find_one = |role: Role| -> Option<usize> {
            let names = NAMES.iter().find(|(r, _)| *r == role).map_or(&[][..], |(_, n)| n);
            names.iter().find_map(|n| keys.iter().position(|k| k == n))
        };
        let find_all = |role: Role, contains: &str| -> Vec<usize> {
            let names = NAMES.iter().find(|(r, _)| *r == role).map_or(&[][..], |(_, n)| n);
            let mut found: Vec<usize> = (0..keys.len())
                .filter(|i| names.contains(&keys[*i].as_str()) || (!contains.is_empty() && keys[*i].contains(contains)))
                .collect();
            found.sort_unstable();
            found
        };
        let has = |name: &str| keys.iter().any(|k| k == name);
        let layout = if has("donotmodifyaccount") {
            CrmLayout::Dynamics365
        } else if has("organizationname")
            && keys
                .iter()
                .any(|k| k.starts_with("organization") && k != "organizationname")
        {
            CrmLayout::Pipedrive
        } else if has("recordid") && (has("accountname") || has("accounttype")) {
            CrmLayout::Zoho
        } else if keys
            .iter()
            .any(|k| k == "accountid" || k == "billingcountry" || k == "accountname")
        {
            CrmLayout::Salesforce
        } else if keys
            .iter()
            .any(|k| k == "recordid" || k == "companydomainname" || k == "lifecyclestage")
        {
            CrmLayout::Hubspot
        } else {
            CrmLayout::Generic
        };
        let mut map = ColumnMap {
            layout,
            record_id: find_one(Role::RecordId),
            name: find_one(Role::Name),
            websites: find_all(Role::Website, "website"),
            emails: find_all(Role::Email, "email"),
            country: find_one(Role::Country),
            status: find_one(Role::Status),
            owner: find_one(Role::Owner),
            amount: find_one(Role::Amount),
            extras: Vec::new(),
        };
        let mut overridden: Vec<Role> = Vec::new();
        for o in overrides {
            let idx = headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(o.column.trim()))
                .ok_or_else(|| ErrorKind::UnknownColumn {
                    source: source.into(),
                    column: o.column.clone(),
                    headers: headers.to_vec(),
                })?;
            let first = !overridden.contains(&o.role);
            overridden.push(o.role);
            // An override takes the column away from whatever detection gave it to.
            map.remove_index(idx);
            match o.role {
                Role::RecordId => map.record_id = Some(idx),
                Role::Name => map.name = Some(idx),
                Role::Country => map.country = Some(idx),
                Role::Status => map.status = Some(idx),
                Role::Owner => map.owner = Some(idx),
                Role::Amount => map.amount = Some(idx),
                Role::Website => {
                    if first {
                        map.websites.clear();
                    }
                    map.websites.push(idx);
                }
                Role::Email => {
                    if first {
                        map.emails.clear();
                    }
                    map.emails.push(idx);
                }
            }
        }
        map.extras = (0..headers.len()).filter(|i| !map.uses(*i)).collect();
        Ok(map)
    }

    fn remove_index(&mut self, idx: usize) {
        for slot in [
            &mut self.record_id,
            &mut self.name,
            &mut self.country,
            &mut self.status,
            &mut self.owner,
            &mut self.amount,
        ] {
            if *slot == Some(idx) {
                *slot = None;
            }
        }
        self.websites.retain(|i| *i != idx);
        self.emails.retain(|i| *i != idx);
    }

    /// Whether an account reads column `idx` (a role's column or a kept extra one).
    pub(crate) fn reads(&self, idx: usize) -> bool {
        self.uses(idx) || self.extras.contains(&idx)
    }

    fn uses(&self, idx: usize) -> bool {
        [
            self.record_id,
            self.name,
            self.country,
            self.status,
            self.owner,
            self.amount,
        ]
        .contains(&Some(idx))
            || self.websites.contains(&idx)
            || self.emails.contains(&idx)
    }

    /// Whether any column can identify an organisation.
    pub fn has_identifier(&self) -> bool {
        self.name.is_some() || !self.websites.is_empty() || !self.emails.is_empty()
    }

    /// Builds the account of one row; `Err(reason)` when the row has nothing identifying.
    pub(crate) fn build_account(
        &self,
        row: u64,
        line: u64,
        fields: &[String],
        statuses: &mut StatusMemo,
    ) -> Result<Account, String> {
        let get =
            |i: Option<usize>| -> Option<String> { i.and_then(|i| fields.get(i)).filter(|v| !v.is_empty()).cloned() };
        let name = get(self.name);
        let websites: Vec<String> = self
            .websites
            .iter()
            .filter_map(|i| fields.get(*i))
            .flat_map(|v| split_multi(v, &[' ', ';', ',', '|']))
            .collect();
        let emails: Vec<String> = self
            .emails
            .iter()
            .filter_map(|i| fields.get(*i))
            .flat_map(|v| split_multi(v, &[' ', ';', ',']))
            .map(|v| v.trim_matches(['<', '>', '(', ')', '"']).to_owned())
            .filter(|v| v.contains('@') || v.contains('.'))
            .collect();
        if name.as_deref().is_none_or(|n| n.chars().all(|c| !c.is_alphanumeric()))
            && websites.is_empty()
            && emails.is_empty()
        {
            return Err("no company name, website, domain or e-mail address".into());
        }
        let status = get(self.status);
        let (population, _) = statuses.classify(status.as_deref());
        let mut notes = Vec::new();
        let amount = match get(self.amount) {
            None => None,
            Some(raw) => match parse_amount(&raw) {
                Some(v) => Some(v),
                None => {
                    notes.push(format!("amount {raw:?} is not a number; left empty"));
                    None
                }
            },
        };
        Ok(Account {
            row,
            line,
            record_id: get(self.record_id),
            name,
            websites,
            emails,
            country: get(self.country),
            population,
            status,
            owner: get(self.owner),
            amount,
            extra: self
                .extras
                .iter()
                .map(|i| fields.get(*i).cloned().unwrap_or_default())
                .collect(),
            notes,
        })
    }
}

fn split_multi(value: &str, separators: &[char]) -> Vec<String> {
    value
        .split(separators)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses amounts as CRMs export them: `1234.5`, `$1,234.50`, `1.234,50 €`, `EUR 12 000`.
pub(crate) fn parse_amount(raw: &str) -> Option<f64> {
    let body: String = raw
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .collect();
    if !body.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let last_dot = body.rfind('.');
    let last_comma = body.rfind(',');
    let normalized = match (last_dot, last_comma) {
        (Some(d), Some(c)) if c > d => body.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => body.replace(',', ""),
        (None, Some(c)) if body.len() - c - 1 <= 2 && body.matches(',').count() == 1 => body.replace(',', "."),
        (None, Some(_)) => body.replace(',', ""),
        (Some(_), None) if body.matches('.').count() > 1 => body.replace('.', ""),
        _ => body,
    };
    normalized.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn salesforce_layout() {
        let h = headers(&[
            "Account ID",
            "Account Name",
            "Website",
            "Billing Country",
            "Type",
            "Account Owner",
            "Industry",
        ]);
        let m = ColumnMap::detect(&h, &[], "t").unwrap();
        assert_eq!(m.layout, CrmLayout::Salesforce);
        assert_eq!(
            (m.record_id, m.name, m.country, m.status, m.owner),
            (Some(0), Some(1), Some(3), Some(4), Some(5))
        );
        assert_eq!(m.websites, vec![2]);
        assert_eq!(m.extras, vec![6]);
    }

    #[test]
    fn hubspot_layout() {
        let h = headers(&[
            "Record ID",
            "Company name",
            "Company Domain Name",
            "Website URL",
            "Country/Region",
            "Lifecycle Stage",
            "Company owner",
        ]);
        let m = ColumnMap::detect(&h, &[], "t").unwrap();
        assert_eq!(m.layout, CrmLayout::Hubspot);
        assert_eq!(
            (m.record_id, m.name, m.country, m.status, m.owner),
            (Some(0), Some(1), Some(4), Some(5), Some(6))
        );
        assert_eq!(m.websites, vec![2, 3]);
    }

    #[test]
    fn override_moves_column_between_roles() {
        let h = headers(&["Name", "Org", "Web"]);
        let o = [ColumnOverride::parse("name=org").unwrap()];
        let m = ColumnMap::detect(&h, &o, "t").unwrap();
        assert_eq!(m.name, Some(1));
        assert_eq!(m.websites, vec![2]);
        assert_eq!(m.extras, vec![0]);
        let bad = ColumnMap::detect(&h, &[ColumnOverride::new(Role::Name, "Nope")], "t").unwrap_err();
        assert!(bad.to_string().contains("\"Nope\""), "{bad}");
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("$1,234.50"), Some(1234.5));
        assert_eq!(parse_amount("1.234,50 €"), Some(1234.5));
        assert_eq!(parse_amount("EUR 12 000"), Some(12000.0));
        assert_eq!(parse_amount("12,5"), Some(12.5));
        assert_eq!(parse_amount("1,234,567"), Some(1234567.0));
        assert_eq!(parse_amount("1.234.567"), Some(1234567.0));
        assert_eq!(parse_amount("n/a"), None);
    }
}

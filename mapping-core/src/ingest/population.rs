//! Populations: the groups partners compare (Customers, Open Opportunities, Prospects,
//! Partners, or custom ones), derived from a status, type or lifecycle-stage column.

use std::fmt;

use crate::error::Result;
use crate::normalize::fold_text;

/// The population of an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", from = "String")]
#[non_exhaustive]
pub enum Population {
    /// Paying customers.
    Customers,
    /// Accounts with an open opportunity.
    OpenOpportunities,
    /// Prospects and leads.
    Prospects,
    /// Partners, resellers, integrators.
    Partners,
    /// Accounts without a status value.
    Unassigned,
    /// A population named by a custom rule, or a status no rule knows.
    Custom(String),
}

impl Population {
    /// The label shown in reports and carried in protocol headers.
    pub fn label(&self) -> &str {
        match self {
            Population::Customers => "Customers",
            Population::OpenOpportunities => "Open Opportunities",
            Population::Prospects => "Prospects",
            Population::Partners => "Partners",
            Population::Unassigned => "Unassigned",
            Population::Custom(s) => s,
        }
    }
}

impl From<String> for Population {
    fn from(s: String) -> Self {
        match s.as_str() {
            "Customers" => Population::Customers,
            "Open Opportunities" => Population::OpenOpportunities,
            "Prospects" => Population::Prospects,
            "Partners" => Population::Partners,
            "Unassigned" => Population::Unassigned,
            _ => Population::Custom(s),
        }
    }
}

impl From<Population> for String {
    fn from(p: Population) -> String {
        p.label().to_owned()
    }
}

impl fmt::Display for Population {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// User rules `Label=value1,value2` (status values compared case- and accent-insensitively),
/// tried before the built-in keyword rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PopulationRules {
    rules: Vec<(String, Population)>,
}

/// Built-in rules: a status whose words contain one of the keywords belongs to the
/// population. Checked in order, so "former customer" is not a customer.
const BUILTIN: &[(&[&str], Option<Population>)] = &[
    (
        &[
            "former",
            "churned",
            "churn",
            "lost",
            "inactive",
            "closed lost",
            "ex customer",
        ],
        None,
    ),
    (
        // HubSpot's "Evangelist" lifecycle stage comes after "Customer".
        &["customer", "client", "closed won", "active account", "evangelist"],
        Some(Population::Customers),
    ),
    (
        &[
            "opportunity",
            "opportunities",
            "sales qualified lead",
            "sql",
            "negotiation",
            "proposal",
            "pipeline",
            "open deal",
        ],
        Some(Population::OpenOpportunities),
    ),
    (
        &[
            "prospect",
            "lead",
            "marketing qualified lead",
            "mql",
            "subscriber",
            "target",
        ],
        Some(Population::Prospects),
    ),
    (
        &[
            "partner",
            "reseller",
            "integrator",
            "distributor",
            "var",
            "msp",
            "alliance",
            "channel",
        ],
        Some(Population::Partners),
    ),
];

impl PopulationRules {
    /// Parses rules of the form `Label=value1,value2`, e.g. `Churned=former customer,lost`.
    /// A label equal to a standard population's label maps onto it.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Self> {
        let mut rules = Vec::new();
        for spec in specs {
            let spec = spec.as_ref();
            let (label, values) = spec.split_once('=').ok_or_else(|| {
                crate::Error::config(format!(
                    "population rule {spec:?} is not of the form LABEL=value1,value2"
                ))
            })?;
            let label = label.trim();
            if label.is_empty() {
                return Err(crate::Error::config(format!(
                    "population rule {spec:?} has an empty label"
                )));
            }
            for value in values.split(',').map(fold_text).filter(|v| !v.is_empty()) {
                rules.push((value, Population::from(label.to_owned())));
            }
        }
        Ok(Self { rules })
    }

    /// The population of a status value.
    ///
    /// ```
    /// use mapping_core::{Population, PopulationRules};
    /// let rules = PopulationRules::default();
    /// assert_eq!(rules.classify(Some("Customer - Direct")), Population::Customers);
    /// assert_eq!(rules.classify(Some("salesqualifiedlead")), Population::OpenOpportunities);
    /// assert_eq!(rules.classify(Some("Former Customer")), Population::Custom("Former Customer".into()));
    /// assert_eq!(rules.classify(None), Population::Unassigned);
    /// ```
    pub fn classify(&self, status: Option<&str>) -> Population {
        let Some(raw) = status.map(str::trim).filter(|s| !s.is_empty()) else {
            return Population::Unassigned;
        };
        self.rule_for(raw).unwrap_or_else(|| Population::Custom(raw.to_owned()))
    }

    /// Whether a user rule or a built-in keyword covers a status value (one that none does
    /// becomes a population of its own name).
    ///
    /// ```
    /// let rules = mapping_core::PopulationRules::default();
    /// assert!(rules.recognises("Customer - Direct") && rules.recognises("Former Customer"));
    /// assert!(!rules.recognises("Tier 2"));
    /// ```
    pub fn recognises(&self, status: &str) -> bool {
        self.rule_for(status.trim()).is_some()
    }

    fn rule_for(&self, raw: &str) -> Option<Population> {
        let folded = fold_text(raw);
        if let Some((_, p)) = self.rules.iter().find(|(v, _)| *v == folded) {
            return Some(p.clone());
        }
        // HubSpot writes internal values ("salesqualifiedlead"); compare without spaces too.
        let compact: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
        let words: Vec<&str> = folded.split(' ').collect();
        // Multi-word keywords without their spaces, made once (this runs for every row).
        static COMPACT: std::sync::LazyLock<hashbrown::HashMap<&'static str, String>> =
            std::sync::LazyLock::new(|| {
                BUILTIN
                    .iter()
                    .flat_map(|(keywords, _)| keywords.iter())
                    .filter(|k| k.contains(' '))
                    .map(|k| (*k, k.replace(' ', "")))
                    .collect()
            });
        for (keywords, population) in BUILTIN {
            let hit = keywords.iter().any(|k| {
                if k.contains(' ') {
                    folded.contains(k) || COMPACT.get(k).is_some_and(|c| compact.contains(c.as_str()))
                } else {
                    words.contains(k) || (k.len() >= 6 && compact.contains(k))
                }
            });
            if hit {
                return Some(population.clone().unwrap_or_else(|| Population::Custom(raw.to_owned())));
            }
        }
        None
    }
}

/// Classifies the status values of one file's rows, remembering each distinct value: a
/// status column holds a handful of values, and matching one against the rules and keywords
/// costs about a microsecond a row. At most [`StatusMemo::MAX`] values are kept.
pub(crate) struct StatusMemo<'a> {
    rules: &'a PopulationRules,
    /// Raw value -> its population, and whether that is a custom population no rule or
    /// keyword recognises (its own name).
    seen: hashbrown::HashMap<String, (Population, bool)>,
}

impl<'a> StatusMemo<'a> {
    /// Distinct status values remembered (a column of free text would otherwise grow it).
    const MAX: usize = 4096;

    pub(crate) fn new(rules: &'a PopulationRules) -> Self {
        StatusMemo {
            rules,
            seen: hashbrown::HashMap::new(),
        }
    }

    /// [`PopulationRules::classify`], and whether the result is a population of the value's
    /// own name that no rule or keyword recognises.
    pub(crate) fn classify(&mut self, status: Option<&str>) -> (Population, bool) {
        let Some(raw) = status.map(str::trim).filter(|s| !s.is_empty()) else {
            return (Population::Unassigned, false);
        };
        if let Some(hit) = self.seen.get(raw) {
            return hit.clone();
        }
        let population = self.rules.classify(Some(raw));
        let unrecognised = matches!(&population, Population::Custom(label) if !self.rules.recognises(label));
        let out = (population, unrecognised);
        if self.seen.len() < Self::MAX {
            self.seen.insert(raw.to_owned(), out.clone());
        }
        out
    }
}

#[cfg(test)]
mod memo_tests {
    use super::*;

    /// The memo gives what the rules give, for recognised, custom, user-ruled and empty
    /// values, the second time as the first.
    #[test]
    fn the_memo_classifies_as_the_rules_do() {
        let rules = PopulationRules::parse(&["Churned=former customer"]).unwrap();
        let mut memo = StatusMemo::new(&rules);
        for _ in 0..2 {
            for v in [
                Some("Customer - Direct"),
                Some("Former Customer"),
                Some("Tier 2"),
                Some("  "),
                None,
                Some("salesqualifiedlead"),
            ] {
                let (p, unrecognised) = memo.classify(v);
                assert_eq!(p, rules.classify(v), "{v:?}");
                let expected = matches!(&p, Population::Custom(l) if !rules.recognises(l));
                assert_eq!(unrecognised, expected, "{v:?}");
            }
        }
        assert!(memo.classify(Some("Tier 2")).1);
        assert!(!memo.classify(Some("Customer - Direct")).1);
    }
}

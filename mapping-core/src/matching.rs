//! Matching: what one side learned from a session (slot matches from [`crate::psi`]) turned
//! into account pairs, each with the key types that matched and a confidence, plus the
//! partner's shared fields and an account of what this side disclosed.
//!
//! One account may pair with several partner accounts (duplicates, subsidiaries): every
//! pair is kept, and counts are given both ways (own accounts matched, partner accounts
//! matched, pairs) so that the two partners' numbers reconcile.

use std::collections::{BTreeMap, BTreeSet};

use crate::decide::{Decision, Field, Level, Verdict};
use crate::keys::{KeyType, Tier};
use crate::psi::{Mode, PsiMatch, PsiResult, Timings};

/// One matched account pair, from this side's view.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MatchedPair {
    /// Index of the own account in the party's list (`PreparedList::keyed`).
    pub own: usize,
    /// The partner's handle for its account (its position in the partner's message).
    pub partner: u64,
    /// The partner account's population.
    pub partner_population: String,
    /// Key types that matched, in priority order.
    pub key_types: Vec<KeyType>,
    /// Strongest tier among the matched key types.
    pub confidence: Tier,
    /// The verdict, score and levels of the decision rule ([`crate::decide`]).
    pub decision: Decision,
    /// Fields the partner's policy shared for its account (empty when none).
    pub partner_fields: Vec<(String, String)>,
}

/// What this side sent, for the report's disclosure section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Disclosure {
    /// Mode of the session.
    pub mode: Mode,
    /// Accounts whose blinded keys were sent.
    pub accounts_sent: u64,
    /// Population sizes sent.
    pub populations_sent: Vec<(String, u64)>,
    /// Populations left out by the policy, with their sizes (never sent).
    pub hidden_populations: Vec<(String, u64)>,
    /// Populations shared as counts only (in the counts sub-session), with their sizes.
    pub counted_populations: Vec<(String, u64)>,
    /// Values sent per account.
    pub slots: u8,
    /// Matched accounts whose fields were shared.
    pub records_sent: u64,
    /// Field names shared (over all records).
    pub fields_sent: Vec<String>,
    /// Candidate pairs the pair round compared ([`crate::compare`]): for each, the partner
    /// learnt whether this side's account holds a domain and a country as its own does, and
    /// whether their countries and brand labels are equal.
    pub pairs_compared: u64,
}

/// The outcome of one session for one side.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mapping {
    /// Mode of the session.
    pub mode: Mode,
    /// Session id, hex.
    pub session: String,
    /// Own populations in the session, with sizes.
    pub own_populations: Vec<(String, u64)>,
    /// The partner's populations, with sizes.
    pub partner_populations: Vec<(String, u64)>,
    /// Distinct decided pairs per own × partner population; in a cell that either side
    /// shares as counts only (`counted_cells`), where no rule can run, every candidate pair.
    pub pair_counts: Vec<Vec<u64>>,
    /// Per cell of `pair_counts`: true where the count comes from the counts-only
    /// sub-session (an upper bound: candidate pairs, no pairs behind it).
    pub counted_cells: Vec<Vec<bool>>,
    /// The decided pairs (empty in counts-only mode).
    pub pairs: Vec<MatchedPair>,
    /// Candidate pairs for a person to review: not in the counts.
    pub review: Vec<MatchedPair>,
    /// What this side disclosed.
    pub disclosure: Disclosure,
    /// Where this side's protocol time went.
    pub timings: Timings,
}

impl Mapping {
    /// Builds the mapping; `decisions` holds the decision rule's verdict for each candidate
    /// of `result`, in order ([`crate::decide::decide_all`]); `partner_records` holds the
    /// partner's shared fields by its account handle.
    pub fn build(
        result: &PsiResult,
        decisions: Vec<Decision>,
        mut partner_records: BTreeMap<u64, Vec<(String, String)>>,
        disclosure: Disclosure,
    ) -> Mapping {
        // The rule ran over every candidate; the pairs it rejects are dropped here (and no
        // record was sent for them). A record moves into the last kept pair of its partner
        // account (copies only for the others).
        let kept: Vec<(&PsiMatch, Decision)> = result
            .matches
            .iter()
            .zip(decisions)
            .filter(|(_, d)| d.verdict != Verdict::NoMatch)
            .collect();
        let mut remaining: BTreeMap<u64, usize> = BTreeMap::new();
        for (m, _) in &kept {
            *remaining.entry(m.peer_account).or_default() += 1;
        }
        let (pairs, review): (Vec<MatchedPair>, Vec<MatchedPair>) = kept
            .into_iter()
            .map(|(m, decision)| {
                let left = remaining.entry(m.peer_account).or_default();
                *left = left.saturating_sub(1);
                let partner_fields = if *left == 0 {
                    partner_records.remove(&m.peer_account)
                } else {
                    partner_records.get(&m.peer_account).cloned()
                };
                // The strongest key type, or strong where the name agrees with a second
                // attribute that the pair round found equal (as `NAME_COUNTRY` would).
                let agrees = |f: Field, l: Level| decision.levels.iter().any(|(lf, ll, _)| *lf == f && *ll == l);
                let second = agrees(Field::Country, Level::Agree) || agrees(Field::Domain, Level::BrandAgree);
                let confidence = if agrees(Field::Name, Level::Agree) && second {
                    Tier::Strong
                } else {
                    m.key_types.iter().map(|t| t.tier()).max().unwrap_or(Tier::Weak)
                };
                MatchedPair {
                    own: m.own_account,
                    partner: m.peer_account,
                    partner_population: result.peer_populations[m.peer_population].0.clone(),
                    key_types: m.key_types.clone(),
                    confidence,
                    decision,
                    partner_fields: partner_fields.unwrap_or_default(),
                }
            })
            .partition(|p| p.decision.verdict == Verdict::Match);
        let pair_counts = match result.mode {
            Mode::CountsOnly => result.pair_counts.clone(),
            Mode::Matches => {
                let own_pop: BTreeMap<usize, usize> = result
                    .matches
                    .iter()
                    .map(|m| (m.own_account, m.own_position))
                    .filter_map(|(a, pos)| {
                        let mut end = 0u64;
                        result
                            .own_populations
                            .iter()
                            .position(|(_, n)| {
                                end += n;
                                pos < end
                            })
                            .map(|p| (a, p))
                    })
                    .collect();
                let peer_pop: BTreeMap<&str, usize> = result
                    .peer_populations
                    .iter()
                    .enumerate()
                    .map(|(i, (l, _))| (l.as_str(), i))
                    .collect();
                let mut counts = vec![vec![0u64; result.peer_populations.len()]; result.own_populations.len()];
                for p in &pairs {
                    if let (Some(o), Some(q)) = (own_pop.get(&p.own), peer_pop.get(p.partner_population.as_str())) {
                        counts[*o][*q] += 1;
                    }
                }
                counts
            }
        };
        let counted_cells =
            vec![vec![result.mode == Mode::CountsOnly; result.peer_populations.len()]; result.own_populations.len()];
        Mapping {
            mode: result.mode,
            session: result.session.iter().map(|b| format!("{b:02x}")).collect(),
            own_populations: result.own_populations.clone(),
            partner_populations: result.peer_populations.clone(),
            pair_counts,
            counted_cells,
            pairs,
            review,
            disclosure,
            timings: result.timings,
        }
    }

    /// Adds what the counts sub-session found (`counts`: its result, `None` when none ran)
    /// to a mapping of the matches sub-session: the populations of both, and every cell
    /// that is not overlaps on both sides taken from the counts. `partner_counted` is the
    /// partner's declared counted populations (there even when it has no accounts to
    /// match). The mode is matches when any cell holds pairs.
    pub fn with_counts(mut self, counts: Option<&PsiResult>, partner_counted: &[(String, u64)]) -> Mapping {
        fn union(a: &[(String, u64)], b: &[(String, u64)]) -> Vec<(String, u64)> {
            let mut out: BTreeMap<&str, u64> = a.iter().map(|(l, n)| (l.as_str(), *n)).collect();
            for (l, n) in b {
                out.entry(l.as_str()).or_insert(*n);
            }
            out.into_iter().map(|(l, n)| (l.to_owned(), n)).collect()
        }
        let (counts_own, counts_peer) = counts
            .map(|c| (c.own_populations.as_slice(), c.peer_populations.as_slice()))
            .unwrap_or((&[], &[]));
        let own = union(&self.own_populations, counts_own);
        let partner = union(&union(&self.partner_populations, partner_counted), counts_peer);
        let index = |pops: &[(String, u64)], label: &str| pops.iter().position(|(l, _)| l == label);
        let mut pair_counts = vec![vec![0u64; partner.len()]; own.len()];
        let mut counted_cells = vec![vec![true; partner.len()]; own.len()];
        for (i, (ol, _)) in own.iter().enumerate() {
            for (j, (pl, _)) in partner.iter().enumerate() {
                // A cell of the matches sub-session keeps its count and kind (decided pairs);
                // the others take the counts sub-session's.
                let in_matches = index(&self.own_populations, ol).zip(index(&self.partner_populations, pl));
                if let Some((a, b)) = in_matches {
                    pair_counts[i][j] = self.pair_counts[a][b];
                    counted_cells[i][j] = self.counted_cells[a][b];
                } else if let Some(c) = counts {
                    if let Some((a, b)) = index(&c.own_populations, ol).zip(index(&c.peer_populations, pl)) {
                        pair_counts[i][j] = c.pair_counts[a][b];
                    }
                }
            }
        }
        if let Some(c) = counts {
            self.timings.add(&c.timings);
        }
        let any_pairs = counted_cells.iter().flatten().any(|c| !c);
        self.mode = if any_pairs { Mode::Matches } else { Mode::CountsOnly };
        self.disclosure.mode = self.mode;
        self.own_populations = own;
        self.partner_populations = partner;
        self.pair_counts = pair_counts;
        self.counted_cells = counted_cells;
        self
    }

    /// Matched pairs in total: the decided pairs (matches mode; cells shared as counts only
    /// not included, see [`Mapping::counted_total`]), or every candidate pair (counts-only).
    pub fn pair_total(&self) -> u64 {
        self.cells()
            .filter(|(_, counted)| self.mode == Mode::CountsOnly || !counted)
            .map(|(n, _)| n)
            .sum()
    }

    /// In matches mode, the candidate pairs of the cells either side shares as counts only
    /// (an upper bound, no pairs behind it); 0 in counts-only mode, where
    /// [`Mapping::pair_total`] holds them all.
    pub fn counted_total(&self) -> u64 {
        if self.mode == Mode::CountsOnly {
            return 0;
        }
        self.cells().filter(|(_, counted)| *counted).map(|(n, _)| n).sum()
    }

    fn cells(&self) -> impl Iterator<Item = (u64, bool)> + '_ {
        self.pair_counts
            .iter()
            .zip(&self.counted_cells)
            .flat_map(|(n, c)| n.iter().copied().zip(c.iter().copied()))
    }

    /// Distinct own accounts with at least one match (matches mode).
    pub fn own_matched(&self) -> usize {
        self.pairs.iter().map(|p| p.own).collect::<BTreeSet<_>>().len()
    }

    /// Distinct partner accounts with at least one match (matches mode).
    pub fn partner_matched(&self) -> usize {
        self.pairs.iter().map(|p| p.partner).collect::<BTreeSet<_>>().len()
    }

    /// Pairs per confidence tier.
    pub fn by_confidence(&self) -> BTreeMap<Tier, usize> {
        let mut m = BTreeMap::new();
        for p in &self.pairs {
            *m.entry(p.confidence).or_default() += 1;
        }
        m
    }
}

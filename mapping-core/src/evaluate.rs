//! Scoring a mapping against ground truth: not a pipeline stage, the measuring stick for
//! one. Reads a `matches.csv` (as `overlap` writes it), a truth file (`a_row,b_row[,class]`)
//! and, optionally, per-row annotations (`side,row,group,tags`, as the evaluation sets in
//! `eval/` carry them), and gives precision, recall and F1 overall, recall per difficulty
//! class, precision per confidence tier, and the false pairs by cause.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::error::{Error, Result};

/// Precision, recall and F1 of a set of found pairs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Pairs reported.
    pub found: u64,
    /// Pairs in the truth.
    pub true_pairs: u64,
    /// Reported pairs that are true.
    pub correct: u64,
    /// correct / found.
    pub precision: f64,
    /// correct / true_pairs.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

impl Scores {
    fn new(found: u64, true_pairs: u64, correct: u64) -> Scores {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (p, r) = (ratio(correct, found), ratio(correct, true_pairs));
        Scores {
            found,
            true_pairs,
            correct,
            precision: p,
            recall: r,
            f1: if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) },
        }
    }
}

/// One group of pairs (a truth class or a confidence tier) with its scores.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Group {
    /// The class or tier.
    pub name: String,
    /// Pairs reported in the group (for a truth class: the class's true pairs found).
    pub found: u64,
    /// True pairs in the group (for a tier: reported pairs that are true).
    pub correct: u64,
    /// Size of the group's truth (for a tier: reported pairs).
    pub total: u64,
    /// `correct / total`: recall for a class, precision for a tier.
    pub rate: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// All reported pairs against all true pairs.
    pub overall: Scores,
    /// Recall per difficulty class of the truth.
    pub by_class: Vec<Group>,
    /// Precision per confidence tier of the reported pairs.
    pub by_confidence: Vec<Group>,
    /// False pairs by cause (needs the row annotations for most causes).
    pub false_by_cause: Vec<(String, u64)>,
}

struct Found {
    pair: (u64, u64),
    confidence: String,
    keys: String,
}

fn open(path: &Path) -> Result<(csv::Reader<std::fs::File>, Vec<String>)> {
    let err = |e: csv::Error| Error::config(format!("{}: {e}", path.display()));
    let mut r = csv::Reader::from_path(path).map_err(err)?;
    let headers = r.headers().map_err(err)?.iter().map(str::to_owned).collect();
    Ok((r, headers))
}

fn column(headers: &[String], name: &str, path: &Path) -> Result<usize> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| Error::config(format!("{}: no column {name:?}", path.display())))
}

fn number(value: &str, path: &Path, line: u64) -> Result<u64> {
    value.trim().parse().map_err(|_| {
        Error::config(format!(
            "{}: line {line}: {value:?} is not a row number",
            path.display()
        ))
    })
}

fn read_matches(path: &Path) -> Result<Vec<Found>> {
    let (mut r, h) = open(path)?;
    let (a, b) = (column(&h, "a_row", path)?, column(&h, "b_row", path)?);
    let conf = h.iter().position(|x| x == "confidence");
    let keys = h.iter().position(|x| x == "matched_keys");
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
        let line = i as u64 + 2;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or_default().to_owned();
        out.push(Found {
            pair: (
                number(rec.get(a).unwrap_or_default(), path, line)?,
                number(rec.get(b).unwrap_or_default(), path, line)?,
            ),
            confidence: get(conf),
            keys: get(keys),
        });
    }
    Ok(out)
}

fn read_truth(path: &Path) -> Result<BTreeMap<(u64, u64), String>> {
    let (mut r, h) = open(path)?;
    let (a, b) = (column(&h, "a_row", path)?, column(&h, "b_row", path)?);
    let class = h.iter().position(|x| x == "class");
    let mut out = BTreeMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
        let line = i as u64 + 2;
        let pair = (
            number(rec.get(a).unwrap_or_default(), path, line)?,
            number(rec.get(b).unwrap_or_default(), path, line)?,
        );
        let c = class.and_then(|c| rec.get(c)).unwrap_or("all").to_owned();
        out.insert(pair, c);
    }
    Ok(out)
}

/// Per (side, row): (group, tags).
type Rows = HashMap<(String, u64), (String, BTreeSet<String>)>;

fn read_rows(path: &Path) -> Result<Rows> {
    let (mut r, h) = open(path)?;
    let (side, row) = (column(&h, "side", path)?, column(&h, "row", path)?);
    let (group, tags) = (column(&h, "group", path)?, column(&h, "tags", path)?);
    let mut out = HashMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
        let tags: BTreeSet<String> = rec
            .get(tags)
            .unwrap_or_default()
            .split(';')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        out.insert(
            (
                rec.get(side).unwrap_or_default().to_owned(),
                number(rec.get(row).unwrap_or_default(), path, i as u64 + 2)?,
            ),
            (rec.get(group).unwrap_or_default().to_owned(), tags),
        );
    }
    Ok(out)
}

/// Why a reported pair is false, from the row annotations and the keys that matched.
fn cause(found: &Found, rows: Option<&Rows>) -> String {
    let empty = (String::new(), BTreeSet::new());
    let (ga, ta) = rows
        .and_then(|r| r.get(&("a".to_owned(), found.pair.0)))
        .unwrap_or(&empty);
    let (gb, tb) = rows
        .and_then(|r| r.get(&("b".to_owned(), found.pair.1)))
        .unwrap_or(&empty);
    let free = |t: &BTreeSet<String>| t.contains("free-mail website");
    let by_domain = found.keys.contains("DOMAIN") || found.keys.contains("BRAND_NAME");
    if free(ta) && free(tb) && by_domain {
        "free-mail rows (both sides)".into()
    } else if (free(ta) || free(tb)) && by_domain {
        "free-mail website (one side)".into()
    } else if let Some(shared) = ga.split(';').find(|g| !g.is_empty() && gb.split(';').any(|h| h == *g)) {
        if shared.starts_with("one-edit:") {
            "one edit apart (other organisation)".into()
        } else if shared.starts_with("label:") {
            "website label (other organisation)".into()
        } else {
            "homonym (same name, other organisation)".into()
        }
    } else if found.keys.contains("BRAND_NAME") && !found.keys.contains("DOMAIN") {
        "shared brand label".into()
    } else if found.keys == "NAME_FUZZY" {
        "fuzzy name".into()
    } else if !found.keys.contains("DOMAIN") {
        "other name match".into()
    } else {
        "other".into()
    }
}

/// Scores `matches` against `truth`, with causes from `rows` where given.
pub fn evaluate(matches: &Path, truth: &Path, rows: Option<&Path>) -> Result<Evaluation> {
    let found = read_matches(matches)?;
    let truth = read_truth(truth)?;
    let rows = rows.map(read_rows).transpose()?;
    let found_set: BTreeSet<(u64, u64)> = found.iter().map(|f| f.pair).collect();
    let correct = found_set.iter().filter(|p| truth.contains_key(p)).count() as u64;
    let overall = Scores::new(found_set.len() as u64, truth.len() as u64, correct);
    let mut classes: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (pair, class) in &truth {
        let e = classes.entry(class).or_default();
        e.1 += 1;
        if found_set.contains(pair) {
            e.0 += 1;
        }
    }
    let group = |name: &str, found: u64, correct: u64, total: u64| Group {
        name: name.to_owned(),
        found,
        correct,
        total,
        rate: if total == 0 { 0.0 } else { correct as f64 / total as f64 },
    };
    let by_class = classes.iter().map(|(c, (f, t))| group(c, *f, *f, *t)).collect();
    let mut tiers: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut causes: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for f in &found {
        if !seen.insert(f.pair) {
            continue;
        }
        let e = tiers.entry(f.confidence.as_str()).or_default();
        e.1 += 1;
        if truth.contains_key(&f.pair) {
            e.0 += 1;
        } else {
            *causes.entry(cause(f, rows.as_ref())).or_default() += 1;
        }
    }
    let by_confidence = tiers.iter().map(|(c, (ok, n))| group(c, *n, *ok, *n)).collect();
    let mut false_by_cause: Vec<(String, u64)> = causes.into_iter().collect();
    false_by_cause.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Evaluation {
        overall,
        by_class,
        by_confidence,
        false_by_cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_classes_tiers_and_causes() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let m = w(
            "m.csv",
            "a_row,b_row,matched_keys,confidence\n1,1,DOMAIN,strong\n2,2,NAME,medium\n3,9,DOMAIN,strong\n4,8,NAME,medium\n",
        );
        let t = w(
            "t.csv",
            "a_row,b_row,class\n1,1,same name\n2,2,name variant\n5,5,name variant\n",
        );
        let r = w(
            "r.csv",
            "side,row,group,tags\na,3,,free-mail website\nb,9,,free-mail website\na,4,homonym:x,\nb,8,one-edit:y;homonym:x,\n",
        );
        let e = evaluate(&m, &t, Some(&r)).unwrap();
        assert_eq!((e.overall.found, e.overall.correct, e.overall.true_pairs), (4, 2, 3));
        assert!((e.overall.precision - 0.5).abs() < 1e-9 && (e.overall.recall - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(e.by_class[0].name, "name variant");
        assert_eq!((e.by_class[0].correct, e.by_class[0].total), (1, 2));
        assert_eq!(
            e.false_by_cause,
            vec![
                ("free-mail rows (both sides)".to_string(), 1),
                ("homonym (same name, other organisation)".to_string(), 1)
            ]
        );
        let strong = e.by_confidence.iter().find(|g| g.name == "strong").unwrap();
        assert_eq!((strong.correct, strong.total), (1, 2));
    }
}

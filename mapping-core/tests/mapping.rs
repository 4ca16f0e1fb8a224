//! End to end through the library on the bundled fixtures: exact counts, the generator's
//! ground truth, both sides' views, and sharing policies.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

mod common;

use common::session;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mapping_core::matching::Mapping;
use mapping_core::party::Party;
use mapping_core::policy::SharingPolicy;
use mapping_core::psi::{Message, Mode};
use mapping_core::report::Report;
use mapping_core::{ingest, IngestOptions, KeyConfig, PreparedList};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn list(name: &str) -> PreparedList {
    let d = ingest::read_path(&fixtures().join(name), &IngestOptions::new()).unwrap();
    PreparedList::build(d, &KeyConfig::new())
}

fn policy(name: Option<&str>) -> SharingPolicy {
    name.map_or_else(SharingPolicy::default, |n| {
        SharingPolicy::from_path(&fixtures().join(n)).unwrap()
    })
}

fn truth() -> BTreeSet<(u64, u64)> {
    let text = std::fs::read_to_string(fixtures().join("truth.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

#[test]
fn fixtures_map_to_the_ground_truth_as_documented() {
    let a = Party::new(list("a.csv"), policy(None)).unwrap();
    let b = Party::new(list("b.csv"), policy(None)).unwrap();
    let (ma, mb) = session(&a, &b);
    let report = Report::build(a.list(), &ma).unwrap();
    let found: BTreeSet<(u64, u64)> = report
        .matches
        .iter()
        .map(|m| (m.a_row, m.b_row.parse().unwrap()))
        .collect();
    let review: BTreeSet<(u64, u64)> = report
        .review
        .iter()
        .map(|m| (m.a_row, m.b_row.parse().unwrap()))
        .collect();
    let truth = truth();
    assert_eq!(truth.len(), 877);
    // The generator plants homonyms, namesakes, public bodies on a company's label, one-edit
    // names, free-mail and placeholder websites, group sites (fixtures/README.md). Decided:
    // 873 pairs, 867 true; review: 3 pairs, 2 true; 8 true pairs are not decided. (With BRAND_NAME in the
    // first round, protocol v3's default, two more true pairs reached review. Under message
    // version 4, 18 more false pairs reached review: namesakes with another domain where one
    // side lacked a country, whose single presence value then hid the domains' difference.)
    assert_eq!((found.len(), review.len()), (873, 3), "decided and review pairs");
    assert!(found.is_disjoint(&review));
    assert_eq!(found.intersection(&truth).count(), 867);
    assert_eq!(review.intersection(&truth).count(), 2);
    // A's website field lists the company's site and its group site, B knows the group site
    // only: no DOMAIN match (A's first domain is keyed), and the pair round does not read the
    // unkeyed second domain as a disagreement. Before version 5, all 20 were dropped (-8).
    let group: Vec<_> = report
        .matches
        .iter()
        .filter(|m| m.a_domains.contains("-group.com") && m.b_domains.contains("-group.com"))
        .collect();
    assert_eq!(group.len(), 20);
    for m in &group {
        assert!(truth.contains(&(m.a_row, m.b_row.parse().unwrap())), "{m:?}");
        assert!(m.evidence.contains("domain=unknown(+0)"), "{m:?}");
    }
    // The 6 false decided pairs are same-name traps where the domain disagreement cannot be
    // seen: in 5 one side holds no usable domain; in 1 side A lists two domains (its own and a
    // group site), of which the first round keyed one, so a namesake's other domain is not
    // known to differ. Same name, same country, nothing against them.
    let false_pairs: Vec<_> = report
        .matches
        .iter()
        .filter(|m| !truth.contains(&(m.a_row, m.b_row.parse().unwrap())))
        .collect();
    assert_eq!(false_pairs.len(), 6);
    for m in &false_pairs {
        let several = m.a_domains.contains(' ');
        assert!(m.a_domains.is_empty() || m.b_domains.is_empty() || several, "{m:?}");
        assert!(m.evidence.starts_with("name=agree("), "{m:?}");
        assert!(m.evidence.ends_with(" domain=unknown(+0) country=agree(+3)"), "{m:?}");
    }
    // The responder's view holds the same pairs, mirrored.
    let rb = Report::build(b.list(), &mb).unwrap();
    let mirrored: BTreeSet<(u64, u64)> = rb.matches.iter().map(|m| (m.b_row.parse().unwrap(), m.a_row)).collect();
    assert_eq!(mirrored, found);
    // Counts both ways reconcile.
    assert_eq!(report.summary.own_accounts_matched, rb.summary.partner_accounts_matched);
    assert_eq!(report.summary.partner_accounts_matched, rb.summary.own_accounts_matched);
    assert_eq!(
        (
            report.summary.own_accounts_matched,
            report.summary.partner_accounts_matched
        ),
        (Some(856), Some(858))
    );
    assert_eq!(ma.pair_total(), 873);
    assert_eq!(rb.review.len(), 3);
    // Matrix cells add up to the decided pairs, and the transposed matrix is the partner's.
    let cells: u64 = report.matrix.iter().map(|c| c.pairs).sum();
    assert_eq!(cells, 873);
    for c in &report.matrix {
        let twin = rb
            .matrix
            .iter()
            .find(|d| d.own_population == c.partner_population && d.partner_population == c.own_population)
            .unwrap();
        assert_eq!(twin.pairs, c.pairs);
    }
}

/// Counts-only for every population (former customers hidden): no pair, and the counts are
/// of candidate pairs, more than the decided and review pairs of a matches session.
#[test]
fn hidden_population_and_counts_policy() {
    let counts_only = "[default]\nshare = \"counts\"\n[population.\"Former Customer\"]\nshare = \"hidden\"\n";
    let a = Party::new(list("a.csv"), SharingPolicy::from_toml(counts_only, "p.toml").unwrap()).unwrap();
    let b = Party::new(list("b.csv"), policy(None)).unwrap();
    assert_eq!(a.mode(), Mode::CountsOnly);
    let former = a
        .list()
        .accounts
        .iter()
        .filter(|x| x.account.population.label() == "Former Customer")
        .count();
    assert_eq!(a.accounts_in_session(), a.list().accounts.len() - former);
    let (ma, mb) = session(&a, &b);
    assert_eq!((ma.mode, mb.mode), (Mode::CountsOnly, Mode::CountsOnly));
    assert!(
        ma.pairs.is_empty() && mb.pairs.is_empty() && ma.review.is_empty() && mb.review.is_empty(),
        "no account-level matches in counts mode"
    );
    assert!(ma.counted_cells.iter().flatten().all(|c| *c));
    // The partner never hears of the hidden population.
    assert!(mb.partner_populations.iter().all(|(l, _)| l != "Former Customer"));
    assert_eq!(
        ma.disclosure.hidden_populations,
        vec![("Former Customer".to_string(), former as u64)]
    );
    // Counts-only mode counts every candidate pair (no rule can run on counts): more than the
    // decided and review pairs of the full session (minus those of the hidden population),
    // since the pairs the rule rejects (the generator's homonyms and namesakes) count too.
    let (full, _) = session(&Party::new(list("a.csv"), policy(None)).unwrap(), &b);
    let hidden_pairs = full
        .pairs
        .iter()
        .chain(&full.review)
        .filter(|p| a.list().accounts[p.own].account.population.label() == "Former Customer")
        .count();
    assert_eq!(876 - hidden_pairs, 732);
    assert_eq!(ma.pair_total(), 833);
    assert_eq!(mb.pair_total(), ma.pair_total());
}

/// Issue 14: modes mix in one session. A shares prospects as counts only and hides former
/// customers; B shares everything with its overlaps. Cells of A's prospects are counts (the
/// same counts an all-counts session gives), every other cell holds exactly the decided
/// pairs of a plain matches session, and no pair of A's prospects reaches either side.
#[test]
fn per_population_sharing_in_one_session() {
    let a = Party::new(list("a.csv"), policy(Some("policy-counts-prospects.toml"))).unwrap();
    let b = Party::new(list("b.csv"), policy(None)).unwrap();
    assert_eq!(a.mode(), Mode::Matches);
    assert_eq!(
        a.counted_populations()
            .iter()
            .map(|(l, _)| l.as_str())
            .collect::<Vec<_>>(),
        ["Prospects"]
    );
    let (ma, mb) = session(&a, &b);
    assert_eq!((ma.mode, mb.mode), (Mode::Matches, Mode::Matches));
    let pop = |i: usize| a.list().accounts[i].account.population.label().to_owned();
    // Pairs: exactly those of a plain session that hides A's prospects too (the same
    // candidates, so the same name weights and verdicts).
    let pairs = |m: &Mapping| -> BTreeSet<(usize, u64, String)> {
        m.pairs
            .iter()
            .map(|p| (p.own, p.partner, format!("{:?}", p.decision)))
            .collect()
    };
    let hide = "[population.\"Prospects\"]\nshare = \"hidden\"\n[population.\"Former Customer\"]\nshare = \"hidden\"\n";
    let h = Party::new(list("a.csv"), SharingPolicy::from_toml(hide, "p.toml").unwrap()).unwrap();
    let (full, _) = session(&h, &b);
    assert!(full.pairs.len() > 500);
    assert_eq!(pairs(&ma).len(), full.pairs.len());
    assert_eq!(ma.review.len(), full.review.len());
    assert!(ma
        .pairs
        .iter()
        .all(|p| pop(p.own) != "Prospects" && pop(p.own) != "Former Customer"));
    assert!(mb.pairs.iter().all(|p| p.partner_population != "Prospects"));
    assert!(mb.review.iter().all(|p| p.partner_population != "Prospects"));
    // Partner handles differ between sessions (fresh shuffles), so compare own sides.
    let own = |m: &Mapping| -> BTreeSet<usize> { m.pairs.iter().map(|p| p.own).collect() };
    assert_eq!(own(&ma), own(&full));
    // Cells: A's prospects row (B's prospects column) is counted, the rest paired.
    let own_labels: Vec<&str> = ma.own_populations.iter().map(|(l, _)| l.as_str()).collect();
    assert!(own_labels.contains(&"Prospects") && !own_labels.contains(&"Former Customer"));
    for (i, (ol, _)) in ma.own_populations.iter().enumerate() {
        for (j, (pl, _)) in ma.partner_populations.iter().enumerate() {
            assert_eq!(ma.counted_cells[i][j], ol == "Prospects", "{ol} x {pl}");
            if ol != "Prospects" {
                let full_i = full.own_populations.iter().position(|(l, _)| l == ol).unwrap();
                let full_j = full.partner_populations.iter().position(|(l, _)| l == pl).unwrap();
                assert_eq!(ma.pair_counts[i][j], full.pair_counts[full_i][full_j], "{ol} x {pl}");
            }
            // B's view is the transpose.
            let bi = mb.own_populations.iter().position(|(l, _)| l == pl).unwrap();
            let bj = mb.partner_populations.iter().position(|(l, _)| l == ol).unwrap();
            assert_eq!(mb.pair_counts[bi][bj], ma.pair_counts[i][j], "{ol} x {pl} from B");
            assert_eq!(mb.counted_cells[bi][bj], ma.counted_cells[i][j]);
        }
    }
    // The prospects' counts are those of an all-counts session (the same sub-session).
    let all_counts = "[default]\nshare = \"counts\"\n[population.\"Former Customer\"]\nshare = \"hidden\"\n";
    let c = Party::new(list("a.csv"), SharingPolicy::from_toml(all_counts, "p.toml").unwrap()).unwrap();
    let (mc, _) = session(&c, &b);
    let pi = ma.own_populations.iter().position(|(l, _)| l == "Prospects").unwrap();
    let ci = mc.own_populations.iter().position(|(l, _)| l == "Prospects").unwrap();
    assert_eq!(ma.pair_counts[pi], mc.pair_counts[ci]);
    assert!(ma.pair_counts[pi].iter().sum::<u64>() > 0);
    // What was disclosed says so.
    assert_eq!(ma.disclosure.counted_populations.len(), 1);
    assert!(mb.disclosure.counted_populations.is_empty());
}

#[test]
fn shared_fields_follow_each_sides_policy() {
    let a = Party::new(list("a.csv"), policy(Some("policy-share-owner.toml"))).unwrap();
    let b = Party::new(list("b.csv"), policy(None)).unwrap();
    let (ma, mb) = session(&a, &b);
    // B sees A's owner and industry for A's customers only.
    for p in &mb.pairs {
        let names: Vec<&str> = p.partner_fields.iter().map(|(k, _)| k.as_str()).collect();
        if p.partner_population == "Customers" {
            assert_eq!(
                names,
                ["row", "record_id", "name", "domain", "owner", "column:Industry"]
            );
        } else {
            assert_eq!(names, ["row", "record_id", "name", "domain"]);
        }
    }
    // A sees B's default fields; A's former customers are out of the session.
    assert!(ma.pairs.iter().all(|p| p.partner_fields.len() == 4));
    assert!(ma
        .pairs
        .iter()
        .all(|p| a.list().accounts[p.own].account.population.label() != "Former Customer"));
    // Issue 13: in B's matches.csv each shared field has its own column, filled for A's
    // customers and empty for the others.
    let dir = std::env::temp_dir().join(format!("acctmap-fields-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Report::build(b.list(), &mb).unwrap().write_dir(&dir, b.list()).unwrap();
    let mut r = csv::Reader::from_path(dir.join("matches.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let last: Vec<&str> = headers.iter().skip(headers.len() - 2).collect();
    assert_eq!(last, ["partner_industry", "partner_owner"]);
    let (industry, pop) = (col("partner_industry"), col("b_population"));
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert!(rows.iter().any(|x| x[pop] == *"Customers" && !x[industry].is_empty()));
    assert!(rows.iter().all(|x| x[pop] == *"Customers" || x[industry].is_empty()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn set_size_guard_refuses_a_larger_partner() {
    let strict = SharingPolicy {
        max_peer_accounts: 1000,
        ..SharingPolicy::default()
    };
    let a = Party::new(list("a.csv"), policy(None)).unwrap();
    let b = Party::new(list("b.csv"), strict).unwrap();
    let (_, m1) = a.start().unwrap();
    let e = Message::decode(&m1.encode(), b.policy().max_peer_accounts).unwrap_err();
    assert!(
        e.to_string()
            .contains("declares 2972 accounts, more than this side accepts (1000)"),
        "{e}"
    );
}

#[test]
fn report_files_are_written_whole() {
    let a = Party::new(list("a.csv"), policy(None)).unwrap();
    let b = Party::new(list("b.csv"), policy(None)).unwrap();
    let (ma, _) = session(&a, &b);
    let dir = std::env::temp_dir().join(format!("acctmap-report-{}", std::process::id()));
    let written = Report::build(a.list(), &ma).unwrap().write_dir(&dir, a.list()).unwrap();
    assert_eq!(written.len(), 7);
    let matches = std::fs::read_to_string(dir.join("matches.csv")).unwrap();
    assert_eq!(matches.lines().count(), 874);
    assert_eq!(
        std::fs::read_to_string(dir.join("review.csv")).unwrap().lines().count(),
        4
    );
    assert!(matches.starts_with("a_row,b_row,a_record_id,b_record_id,a_name,b_name,a_domains,b_domains,a_population,b_population,matched_keys,confidence"));
    let rejects = std::fs::read_to_string(dir.join("rejects.csv")).unwrap();
    assert!(rejects.starts_with("row,line,record_id,name,reason\n"), "{rejects}");
    // Issue 13: each reject names its record id and name, to find it in the CRM.
    assert!(
        rejects.contains("\n5,6,001000000000005,n/a,\"no usable match key"),
        "{rejects}"
    );
    assert_eq!(rejects.lines().count(), 29);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["summary"]["matched_pairs"], 873);
    assert_eq!(summary["summary"]["review_pairs"], 3);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // Issue 13: the file's name, never a local path.
    assert!(
        !html.contains(&fixtures().display().to_string()),
        "report.html shows a local path"
    );
    assert!(html.contains("<p>a.csv &middot; session"));
    // Self-contained: nothing that would load from elsewhere (data values may contain URLs).
    for needle in ["<link", " src=", "href=\"http", "@import", "url(", "<iframe", "<img"] {
        assert!(!html.contains(needle), "report.html contains {needle:?}");
    }
    assert!(
        html.contains("http://10.0.0.12/crm"),
        "a rejected row's value, escaped text"
    );
    assert!(html.contains("id=\"matches-data\""));
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".acctmap-tmp")));
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 5: a repeat mapping of an unchanged list skips hash-to-group through the on-disk
/// cache, with exactly the same result; a damaged cache is ignored; a changed list does not
/// use the old file.
#[test]
fn hash_cache_makes_repeat_runs_skip_hashing() {
    let dir = std::env::temp_dir().join(format!("acctmap-hcache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let b = Party::new(list("b.csv"), policy(None)).unwrap();
    let run = || {
        let a = Party::new(list("a.csv"), policy(None)).unwrap().with_hash_cache(&dir);
        let (ma, _) = session(&a, &b);
        let report = Report::build(a.list(), &ma).unwrap();
        // Decided and review pairs: every candidate the keys found.
        let pairs: BTreeSet<(u64, u64)> = report
            .matches
            .iter()
            .chain(&report.review)
            .map(|m| (m.a_row, m.b_row.parse().unwrap()))
            .collect();
        (ma.timings.hash_cache_hit, pairs)
    };
    let (hit1, first) = run();
    assert!(!hit1, "the first run fills the cache");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (hit2, second) = run();
    assert!(hit2, "the repeat run reads the cache");
    assert_eq!(second, first);
    assert_eq!(first.len(), 876);
    assert_eq!(first.intersection(&truth()).count(), 869);
    // Damage the file: it is ignored (and rewritten), and the result stays right.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&files[0], &bytes).unwrap();
    let (hit3, third) = run();
    assert!(!hit3);
    assert_eq!(third, first);
    // Another list: another file.
    let other = Party::new(list("b.csv"), policy(None)).unwrap().with_hash_cache(&dir);
    let (ini, _) = other.start().unwrap();
    drop(ini);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(&dir).ok();
}

fn streamed(name: &str) -> PreparedList {
    PreparedList::stream(&fixtures().join(name), &IngestOptions::new(), &KeyConfig::new()).unwrap()
}

/// Issue 5: a streamed list keeps only the packed keys, yet holds exactly what the in-memory
/// build holds, and a session over streamed lists gives the same report, partner records
/// included (read again from the file for the matched accounts only).
#[test]
fn streamed_lists_equal_built_ones() {
    let (built, stream) = (list("a.csv"), streamed("a.csv"));
    assert!(built.keeps_records() && !stream.keeps_records());
    assert!(stream.accounts.is_empty());
    assert_eq!(stream.keyed, built.keyed);
    assert_eq!(stream.len(), 2972);
    assert_eq!(stream.rejects, built.rejects);
    assert_eq!(
        (stream.rows_read, stream.keys_dropped, &stream.warnings),
        (built.rows_read, built.keys_dropped, &built.warnings)
    );
    for i in [0, 1, 1500, 2971] {
        assert_eq!(stream.keyed.match_keys(i), built.accounts[i].keys);
        assert_eq!(stream.keyed.row(i), built.accounts[i].account.row);
    }
    let wanted: BTreeSet<usize> = [3, 10, 2971].into();
    let details = stream.details(&wanted).unwrap();
    assert_eq!(details.len(), 3);
    for i in &wanted {
        assert_eq!(details[i].account, built.accounts[*i].account);
        assert_eq!(details[i].normalized, built.accounts[*i].normalized);
    }
    assert!(stream.details(&[2972].into()).is_err(), "an index past the end");
    // Record ids (for crm_import.csv) come from the one read, in index order.
    let ids = |l: &PreparedList| {
        let mut v = Vec::new();
        l.for_each_record_id(|i, id| v.push((i, id.to_owned()))).unwrap();
        v
    };
    let (from_stream, from_build) = (ids(&stream), ids(&built));
    assert_eq!(from_stream.len(), 2972);
    assert_eq!(from_stream, from_build);
    assert!(from_stream.iter().filter(|(_, id)| !id.is_empty()).count() > 2900);

    let share = || policy(Some("policy-share-owner.toml"));
    let (ma, mb) = session(
        &Party::new(streamed("a.csv"), share()).unwrap(),
        &Party::new(streamed("b.csv"), policy(None)).unwrap(),
    );
    let a = Party::new(list("a.csv"), share()).unwrap();
    let b = Party::new(list("b.csv"), policy(None)).unwrap();
    let (ma2, mb2) = session(&a, &b);
    let rows = |r: Report| -> Vec<(u64, String, String, String)> {
        r.matches
            .into_iter()
            .map(|m| (m.a_row, m.b_row, m.a_name, m.b_other))
            .collect()
    };
    let from_stream = rows(Report::build(&streamed("a.csv"), &ma).unwrap());
    assert_eq!(from_stream.len(), 729); // 871 decided, less the pairs of the hidden former customers
    assert_eq!(from_stream, rows(Report::build(a.list(), &ma2).unwrap()));
    assert_eq!(
        rows(Report::build(&streamed("b.csv"), &mb).unwrap()),
        rows(Report::build(b.list(), &mb2).unwrap())
    );
    assert!(mb
        .pairs
        .iter()
        .any(|p| p.partner_fields.iter().any(|(k, _)| k == "owner")));
}

/// A streamed list whose file changes before its records are read again refuses to give a
/// record rather than give a wrong one.
#[test]
fn a_file_changed_after_streaming_is_an_error() {
    let dir = std::env::temp_dir().join(format!("acctmap-changed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("list.csv");
    std::fs::write(&path, "Name,Website\nAcme,acme.com\nGlobex,globex.com\n").unwrap();
    let list = PreparedList::stream(&path, &IngestOptions::new(), &KeyConfig::new()).unwrap();
    assert_eq!(
        list.details(&[1].into()).unwrap()[&1].account.name.as_deref(),
        Some("Globex")
    );
    // Same length, another domain: only the keys tell.
    std::fs::write(&path, "Name,Website\nAcme,acme.com\nGlobex,globex.org\n").unwrap();
    let e = list.details(&[1].into()).unwrap_err().to_string();
    assert!(e.contains("changed since it was read"), "{e}");
    std::fs::write(&path, "Name,Website\nAcme,acme.com\n").unwrap();
    assert!(list.details(&[1].into()).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

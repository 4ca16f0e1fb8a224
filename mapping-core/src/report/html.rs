//! `report.html`: one self-contained page (inline CSS and script, no network), readable
//! without the script; the script adds search and sorting to the matches table.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Report;
use crate::psi::Mode;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn money(v: f64) -> String {
    num(v.round() as u64)
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#16324f;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85;font-size:13px}
main{padding:20px 32px;max-width:1400px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:16px 20px;margin-bottom:18px}
h2{font-size:17px;margin:0 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#eef3f8;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:22px}
.card span{font-size:12px;color:#4a5a6a}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e3e8ee;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f7;position:sticky;top:0}
th.sort{cursor:pointer;user-select:none}
th.sort:after{content:"\00a0\2195";color:#9aa8b6}
#changes{border-left:4px solid #2e7d5b}
#changes td small{display:block;color:#6b7a8a}
tr.new td:first-child{color:#1e7a4f;font-weight:600}
tr.gone td:first-child{color:#a33b2b;font-weight:600}
tr.moved td:first-child{color:#8a5a00;font-weight:600}
table.pairs{table-layout:fixed;font-size:12px}
table.pairs td,table.pairs th{overflow-wrap:break-word;hyphens:manual}
table.pairs td small{display:block;color:#6b7a8a;overflow-wrap:anywhere}
table.heat td.cell{text-align:right;font-variant-numeric:tabular-nums;min-width:90px}
.strong{color:#0b6b2f;font-weight:600}.medium{color:#8a5a00;font-weight:600}.weak{color:#9b1c1c;font-weight:600}
input#q{padding:6px 10px;width:320px;border:1px solid #c5ced8;border-radius:4px;margin-bottom:10px}
.scroll{max-height:560px;overflow-y:auto;overflow-x:hidden}
.muted{color:#6b7a8a;font-size:12px}
ul.plain{margin:0;padding-left:18px}
"#;

/// Pairs embedded in the page (its table is searched and sorted in the browser).
const MAX_EMBEDDED_MATCHES: usize = 50_000;

const SCRIPT: &str = r#"
(function(){
  var data = JSON.parse(document.getElementById('matches-data').textContent);
  var cols = JSON.parse(document.getElementById('matches-cols').textContent);
  var body = document.getElementById('matches-body');
  var q = document.getElementById('q');
  var count = document.getElementById('shown');
  var sortCol = 'a_row', asc = true;
  function cmp(a, b){
    var x = a[sortCol], y = b[sortCol];
    var nx = parseFloat(x), ny = parseFloat(y);
    if (!isNaN(nx) && !isNaN(ny)) return asc ? nx - ny : ny - nx;
    x = String(x || ''); y = String(y || '');
    return asc ? x.localeCompare(y) : y.localeCompare(x);
  }
  function render(){
    var term = q.value.toLowerCase();
    var rows = data.filter(function(r){
      if (!term) return true;
      return cols.some(function(c){ return String(r[c] || '').toLowerCase().indexOf(term) >= 0; });
    }).sort(cmp);
    var frag = document.createDocumentFragment();
    rows.slice(0, 2000).forEach(function(r){
      var tr = document.createElement('tr');
      cols.forEach(function(c){
        var td = document.createElement('td');
        td.textContent = r[c] === null || r[c] === undefined ? '' : String(r[c]);
        if (c === 'matched_keys') td.textContent = td.textContent.split('|').join(' | ');
        if (c === 'a_row' || c === 'b_row') {
          var id = r[c === 'a_row' ? 'a_record_id' : 'b_record_id'];
          if (id) { var sm = document.createElement('small'); sm.textContent = id; td.appendChild(sm); }
        }
        if (c === 'confidence') td.className = r[c];
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    body.innerHTML = '';
    body.appendChild(frag);
    count.textContent = rows.length > 2000 ? ('first 2,000 of ' + rows.length) : String(rows.length);
  }
  document.querySelectorAll('th.sort').forEach(function(th){
    th.addEventListener('click', function(){
      var c = th.getAttribute('data-col');
      if (sortCol === c) { asc = !asc; } else { sortCol = c; asc = true; }
      render();
    });
  });
  q.addEventListener('input', render);
  render();
})();
"#;

/// Renders the page.
/// Domains as a person reads them: IDN labels in Unicode (`xn--mller-kva.de` as
/// `müller.de`); CSV files keep the ASCII form.
fn unicode_domains(list: &str) -> String {
    list.split_whitespace()
        .map(|d| {
            let (u, result) = idna::domain_to_unicode(d);
            if result.is_ok() {
                u
            } else {
                d.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Review rows shown on the page (review.csv has all).
const MAX_REVIEW_SHOWN: usize = 500;

/// Changes shown on the page (changes.csv has all).
const MAX_CHANGES_SHOWN: usize = 500;

/// What changed since the last session with this partner: the section at the top.
fn changes_section(h: &mut String, c: &crate::history::Changes, partner: &str) {
    use crate::history::ChangeKind;
    let _ = write!(
        h,
        "<section id=\"changes\"><h2>Changes since {}</h2><div class=\"cards\">",
        esc(&c.since)
    );
    for (n, label) in [
        (c.partner_moves, "moved in the partner's populations"),
        (c.new_overlaps, "new overlaps"),
        (c.own_moves, "moved in your populations"),
        (c.gone, "overlaps gone"),
    ] {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            num(n),
            esc(label)
        );
    }
    h.push_str("</div>");
    if c.not_followed > 0 {
        let _ = write!(
            h,
            "<p class=\"muted\">{} earlier rows without a record id could not be followed (their website or name changed, or they are gone); their overlaps are not counted as gone.</p>",
            num(c.not_followed)
        );
    }
    if c.rows.is_empty() {
        let _ = write!(
            h,
            "<p>Nothing changed since the last session with {}.</p></section>",
            esc(partner)
        );
        return;
    }
    h.push_str("<table><thead><tr><th>Change</th><th>Your account</th><th>Your population</th><th>Partner account</th><th>Partner population</th></tr></thead><tbody>");
    for row in c.rows.iter().take(MAX_CHANGES_SHOWN) {
        let arrow = |a: &str, b: &str| {
            if a.is_empty() || a == b {
                esc(b)
            } else if b.is_empty() {
                esc(a)
            } else {
                format!("{} &rarr; {}", esc(a), esc(b))
            }
        };
        let class = match row.kind {
            ChangeKind::NewOverlap => "new",
            ChangeKind::OverlapGone => "gone",
            ChangeKind::PartnerMoved | ChangeKind::OwnMoved => "moved",
        };
        let _ = write!(
            h,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(row.kind.as_str()),
            esc(&row.own_name),
            arrow(&row.own_population_before, &row.own_population_now),
            if row.partner_name.is_empty() {
                esc(&row.partner_key)
            } else {
                format!("{} <small>{}</small>", esc(&row.partner_name), esc(&row.partner_key))
            },
            arrow(&row.partner_population_before, &row.partner_population_now),
        );
    }
    h.push_str("</tbody></table>");
    if c.rows.len() > MAX_CHANGES_SHOWN {
        let _ = write!(
            h,
            "<p class=\"muted\">{} more in changes.csv.</p>",
            num((c.rows.len() - MAX_CHANGES_SHOWN) as u64)
        );
    }
    h.push_str("</section>");
}

pub(super) fn render(r: &Report) -> String {
    let s = &r.summary;
    let mut h = String::with_capacity(64 * 1024 + r.matches.len() * 300);
    let mode = match s.mode {
        Mode::Matches => "matches",
        Mode::CountsOnly => "counts only",
    };
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Account mapping report</title><style>{STYLE}</style></head><body>\
         <header><h1>Account mapping report</h1><p>{} &middot; session {} &middot; mode: {}</p></header><main>",
        // The file's name only: a local path says nothing to the reader and may be private.
        esc(std::path::Path::new(&s.source)
            .file_name()
            .map_or(s.source.as_str(), |n| n.to_str().unwrap_or(&s.source))),
        esc(&s.session),
        mode
    );
    if let Some(c) = &r.changes {
        changes_section(&mut h, c, &r.partner_name);
    }
    // Summary
    h.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    let mut card = |value: String, label: &str| {
        let _ = write!(h, "<div class=\"card\"><b>{value}</b><span>{}</span></div>", esc(label));
    };
    card(num(s.matched_pairs), "matched account pairs");
    if s.counted_pairs > 0 {
        card(num(s.counted_pairs), "candidate pairs in cells shared as counts only");
    }
    if let Some(n) = s.own_accounts_matched {
        card(
            format!("{} / {}", num(n), num(s.accounts_in_session)),
            "of your accounts match",
        );
    }
    if let Some(n) = s.partner_accounts_matched {
        card(
            format!("{} / {}", num(n), num(s.partner_accounts)),
            "of the partner's accounts match",
        );
    }
    for (tier, n) in &s.pairs_by_confidence {
        card(num(*n), &format!("{tier} matches"));
    }
    if let Some(p) = s.own_pipeline_matched {
        card(money(p), "your pipeline in overlapping accounts");
    }
    h.push_str("</div>");
    let _ = write!(
        h,
        "<p class=\"muted\">{} rows read, {} accepted, {} rejected. {} of your accounts and {} of the partner's were in the session.",
        num(s.rows_read),
        num(s.accepted),
        num(s.rejected),
        num(s.accounts_in_session),
        num(s.partner_accounts)
    );
    if let (Some(a), Some(b)) = (s.own_accounts_matched, s.partner_accounts_matched) {
        let _ = write!(
            h,
            " Reconciling with the partner: {} of your accounts match {} of theirs in {} pairs (one account can match several: duplicates, subsidiaries); the partner's report shows the same pairs from its side.",
            num(a),
            num(b),
            num(s.matched_pairs)
        );
    }
    if let Some(t) = s.seconds {
        let _ = write!(h, " Run time {t:.2} s.");
    }
    h.push_str("</p>");
    if !s.pairs_by_key_type.is_empty() {
        h.push_str("<p class=\"muted\">Pairs by matched key type: ");
        let parts: Vec<String> = s
            .pairs_by_key_type
            .iter()
            .map(|(k, n)| format!("{} {}", esc(k), num(*n)))
            .collect();
        h.push_str(&parts.join(", "));
        h.push_str("</p>");
    }
    h.push_str("</section>");
    // Matrix
    h.push_str("<section id=\"matrix\"><h2>Overlap by population</h2><table class=\"heat\"><thead><tr><th>yours \\ partner's</th>");
    let own: Vec<&String> = {
        let mut v: Vec<&String> = Vec::new();
        for c in &r.matrix {
            if !v.contains(&&c.own_population) {
                v.push(&c.own_population);
            }
        }
        v
    };
    for (p, n) in &r.partner_populations {
        let _ = write!(h, "<th>{} <span class=\"muted\">({})</span></th>", esc(p), num(*n));
    }
    h.push_str("</tr></thead><tbody>");
    let max = r.matrix.iter().map(|c| c.pairs).max().unwrap_or(0).max(1);
    let own_sizes: BTreeMap<&str, u64> = r
        .disclosure
        .populations_sent
        .iter()
        .map(|(l, n)| (l.as_str(), *n))
        .collect();
    for o in own {
        let _ = write!(
            h,
            "<tr><th>{} <span class=\"muted\">({})</span></th>",
            esc(o),
            num(own_sizes.get(o.as_str()).copied().unwrap_or(0))
        );
        for (p, _) in &r.partner_populations {
            let cell = r
                .matrix
                .iter()
                .find(|c| &c.own_population == o && &c.partner_population == p);
            let pairs = cell.map_or(0, |c| c.pairs);
            let alpha = pairs as f64 / max as f64 * 0.85;
            let color = if alpha > 0.5 { "#fff" } else { "#1d2733" };
            let counted = cell.is_some_and(|c| c.counts_only) && r.summary.mode == Mode::Matches;
            let _ = write!(
                h,
                "<td class=\"cell{}\" style=\"background:rgba(22,110,190,{alpha:.3});color:{color}\"><b>{}</b>{}",
                if counted { " counted" } else { "" },
                num(pairs),
                if counted { "<br><span>counts only</span>" } else { "" }
            );
            if let Some(pipe) = cell.and_then(|c| c.own_pipeline).filter(|v| *v > 0.0) {
                let _ = write!(h, "<br><span>{} pipeline</span>", money(pipe));
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>");
    }
    if r.summary.mode == Mode::CountsOnly {
        h.push_str("</tbody></table><p class=\"muted\">Cells count candidate pairs: in a counts-only session no side sees which keys matched, so the decision rule cannot run and pairs it would reject (same name, other organisation) count too. Read the counts as upper bounds.");
    } else if r.matrix.iter().any(|c| c.counts_only) {
        h.push_str("</tbody></table><p class=\"muted\">Cells count matched account pairs (decided matches), except those marked <i>counts only</i>: there one side shares its population as counts only, so the cell counts candidate pairs of the counts sub-session (an upper bound; no pair is shown or can be linked).");
    } else {
        h.push_str("</tbody></table><p class=\"muted\">Cells count matched account pairs (decided matches).");
    }
    if s.own_pipeline_matched.is_some() {
        h.push_str(" Pipeline is the sum of your amounts over your matched accounts in the cell.");
    }
    h.push_str("</p></section>");
    // Matches
    if s.mode == Mode::Matches {
        // The columns: fixed ones, then each field the partner shared (its owner, industry,
        // ...) in a column of its own.
        let mut columns: Vec<(String, String)> = [
            ("a_row", "your row"),
            ("a_name", "your name"),
            ("a_domains", "your domains"),
            ("a_population", "your population"),
            ("a_owner", "your owner"),
            ("b_row", "partner row"),
            ("b_name", "partner name"),
            ("b_domains", "partner domains"),
            ("b_population", "partner population"),
        ]
        .iter()
        .map(|(c, l)| (c.to_string(), l.to_string()))
        .collect();
        let shared: std::collections::BTreeSet<&str> = r
            .matches
            .iter()
            .flat_map(|m| m.b_fields.iter().map(|(k, _)| k.as_str()))
            .collect();
        for f in &shared {
            let label = f.strip_prefix("column:").unwrap_or(f);
            columns.push((format!("partner:{f}"), format!("partner {}", label.to_lowercase())));
        }
        columns.push(("matched_keys".into(), "matched keys".into()));
        columns.push(("confidence".into(), "confidence".into()));
        let _ = write!(
            h,
            "<section id=\"matches\"><h2>Matched accounts</h2><input id=\"q\" type=\"search\" placeholder=\"Search name, domain, population, key…\" aria-label=\"search\"> \
             <span class=\"muted\">showing <span id=\"shown\">{}</span></span><div class=\"scroll\"><table class=\"pairs\"><thead><tr>",
            num(r.matches.len().min(MAX_EMBEDDED_MATCHES) as u64)
        );
        for (col, label) in &columns {
            let _ = write!(h, "<th class=\"sort\" data-col=\"{}\">{}</th>", esc(col), esc(label));
        }
        h.push_str("</tr></thead><tbody id=\"matches-body\"></tbody></table></div>");
        // A browser page holds a bounded number of pairs; matches.csv holds them all.
        let embedded = &r.matches[..r.matches.len().min(MAX_EMBEDDED_MATCHES)];
        if embedded.len() < r.matches.len() {
            let _ = write!(
                h,
                "<p class=\"muted\">This page holds the first {} of {} pairs (by your row); matches.csv has all of them.</p>",
                num(embedded.len() as u64),
                num(r.matches.len() as u64)
            );
        }
        // Each row as the page shows it: domains in Unicode, partner fields by name.
        let rows: Vec<serde_json::Value> = embedded
            .iter()
            .map(|m| {
                let mut v = serde_json::to_value(m).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("a_domains".into(), unicode_domains(&m.a_domains).into());
                    o.insert("b_domains".into(), unicode_domains(&m.b_domains).into());
                    for (k, val) in &m.b_fields {
                        o.insert(format!("partner:{k}"), val.clone().into());
                    }
                }
                v
            })
            .collect();
        let cols: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        let safe = |json: String| json.replace("</", "<\\/").replace("<!--", "<\\!--");
        let json = safe(serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into()));
        let cols = safe(serde_json::to_string(&cols).unwrap_or_else(|_| "[]".into()));
        let _ = write!(
            h,
            "<script type=\"application/json\" id=\"matches-cols\">{cols}</script>\
             <script type=\"application/json\" id=\"matches-data\">{json}</script></section>"
        );
    }
    // Review candidates: pairs the decision rule did not decide, never in the counts.
    if s.mode == Mode::Matches && !r.review.is_empty() {
        let _ = write!(
            h,
            "<section id=\"review\"><h2>For review ({})</h2><p class=\"muted\">Candidate pairs whose evidence \
             is not enough for a match (a name other accounts share, or whose country or domain one side lacks; \
             a name abroad; a brand label alone; a typo-level name): not \
             in the counts above. review.csv has all of them, with the score and the evidence of each.</p>\
             <div class=\"scroll\"><table><thead><tr><th>your row</th><th>your name</th><th>partner row</th>\
             <th>partner name</th><th>matched keys</th><th>evidence</th></tr></thead><tbody>",
            num(r.review.len() as u64)
        );
        for m in r.review.iter().take(MAX_REVIEW_SHOWN) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                m.a_row,
                esc(&m.a_name),
                esc(&m.b_row),
                esc(&m.b_name),
                esc(&m.matched_keys),
                esc(&m.evidence)
            );
        }
        h.push_str("</tbody></table></div>");
        if r.review.len() > MAX_REVIEW_SHOWN {
            let _ = write!(
                h,
                "<p class=\"muted\">The first {} of {}; review.csv has all of them.</p>",
                num(MAX_REVIEW_SHOWN as u64),
                num(r.review.len() as u64)
            );
        }
        h.push_str("</section>");
    }
    // Rejects
    let _ = write!(
        h,
        "<section id=\"rejects\"><h2>Rejected rows ({})</h2>",
        num(r.rejects.len() as u64)
    );
    if r.rejects.is_empty() {
        h.push_str("<p>None: every row gave at least one match key.</p>");
    } else {
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        for x in &r.rejects {
            let head = x.reason.split(';').next().unwrap_or("").trim().to_owned();
            *reasons.entry(head).or_default() += 1;
        }
        h.push_str("<ul class=\"plain\">");
        for (reason, n) in &reasons {
            let _ = write!(h, "<li>{}: {}</li>", num(*n), esc(reason));
        }
        h.push_str("</ul><details><summary>rows</summary><table><tr><th>row</th><th>reason</th></tr>");
        for x in r.rejects.iter().take(500) {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", x.row, esc(&x.reason));
        }
        h.push_str("</table></details>");
    }
    h.push_str("</section>");
    // Disclosure
    let d = &r.disclosure;
    h.push_str("<section id=\"disclosure\"><h2>What you disclosed to the partner</h2><ul class=\"plain\">");
    let _ = write!(
        h,
        "<li>Your account count ({}) and population sizes: {}.</li>",
        num(d.accounts_sent),
        esc(&d
            .populations_sent
            .iter()
            .map(|(l, n)| format!("{l} {}", num(*n)))
            .collect::<Vec<_>>()
            .join(", "))
    );
    let _ = write!(
        h,
        "<li>{} blinded values per account ({} in all): they reveal nothing about keys the partner does not also hold.</li>",
        d.slots,
        num(d.accounts_sent * u64::from(d.slots))
    );
    match d.mode {
        Mode::Matches => {
            let _ = write!(
                h,
                "<li>Which of the partner's accounts match yours, with your population for each.</li>"
            );
            if d.pairs_compared > 0 {
                let _ = write!(
                    h,
                    "<li>For {} candidate pairs that no domain decided (the pair round): whether your account holds no domain, one or several as the partner's does, whether both or neither hold a country, and whether the two countries and brand labels are equal (never the values).</li>",
                    num(d.pairs_compared)
                );
            }
        }
        Mode::CountsOnly => {
            let _ = write!(h, "<li>Only the population × population counts of matches.</li>");
        }
    }
    if d.records_sent > 0 {
        let _ = write!(
            h,
            "<li>For {} of your matched accounts, the fields your policy shares: {}.</li>",
            num(d.records_sent),
            esc(&d.fields_sent.join(", "))
        );
    } else {
        h.push_str("<li>No fields of your accounts.</li>");
    }
    if !d.hidden_populations.is_empty() {
        let _ = write!(
            h,
            "<li>Nothing about populations your policy hides: {}.</li>",
            esc(&d
                .hidden_populations
                .iter()
                .map(|(l, n)| format!("{l} ({n})"))
                .collect::<Vec<_>>()
                .join(", "))
        );
    }
    h.push_str("</ul></section>");
    if !r.warnings.is_empty() {
        h.push_str("<section id=\"warnings\"><h2>Input warnings</h2><ul class=\"plain\">");
        for w in &r.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></section>");
    }
    let _ = write!(h, "<p class=\"muted\">acctmap {}</p></main>", env!("CARGO_PKG_VERSION"));
    if s.mode == Mode::Matches {
        let _ = write!(h, "<script>{SCRIPT}</script>");
    }
    h.push_str("</body></html>\n");
    h
}

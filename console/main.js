// The marketer's console (docs/console.md): preact components written with htm (tagged templates,
// so no JSX build), chart.js for the overview. Every call goes to the console API, which checks on
// the server what the signed-in user may do; the page only hides what would be refused anyway.
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { Chart, BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { RULE_TEMPLATES } from './templates.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip);
const html = htm.bind(h);
const API = '/console/api';
const USER_KEY = 'baton-console-user';

// LOCAL ONLY: the local stack has no Cognito; the chosen demo user is sent in a header the local
// stack turns into the claims API Gateway would pass. The cloud console signs in through Cognito.
const LOCAL_USERS = ['viewer', 'marketer', 'approver', 'admin'];

async function api(path, { method = 'GET', body } = {}) {
  const user = sessionStorage.getItem(USER_KEY);
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { ...(user ? { 'x-baton-local-user': user } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = await res.json().catch(() => ({}));
  return { status: res.status, ok: res.ok, data };
}

function useApi(path, deps = []) {
  const [state, setState] = useState({ loading: true });
  const reload = () => api(path).then((r) => setState({ loading: false, ...r }));
  useEffect(() => {
    setState({ loading: true });
    reload();
  }, deps);
  return [state, reload];
}

function useHash() {
  const [hash, setHash] = useState(location.hash || '#/overview');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/overview');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const Problem = ({ r }) => (r && !r.ok ? html`<p role="alert" class="problems">${r.status}: ${r.data.reason ?? 'failed'}</p>` : null);

function SignIn({ onSignIn }) {
  const [user, setUser] = useState('marketer');
  return html`<main id="main">
    <h1>Sign in to the Baton console</h1>
    <section class="local-only" aria-labelledby="local-signin">
      <h2 id="local-signin">Local sign-in (local stack only)</h2>
      <p>There is no Cognito on this machine: pick a demo user. The local stack passes the same claims API Gateway's Cognito authorizer passes in the cloud.</p>
      <form onSubmit=${(e) => { e.preventDefault(); onSignIn(user); }}>
        <label>Demo user <select value=${user} onChange=${(e) => setUser(e.currentTarget.value)}>
          ${LOCAL_USERS.map((u) => html`<option value=${u}>${u}</option>`)}
        </select></label>
        <button type="submit">Sign in</button>
      </form>
    </section>
  </main>`;
}

const PAGES = [
  ['#/overview', 'Overview'],
  ['#/rules', 'Rules'],
  ['#/changes', 'Changes'],
  ['#/journeys', 'Journeys'],
  ['#/segments', 'Segments'],
  ['#/reports', 'Reports'],
  ['#/customers', 'Customers'],
  ['#/messages', 'Messages'],
  ['#/quarantine', 'Quarantine'],
  ['#/audit', 'Audit'],
];

function Shell({ me, onSignOut, children, hash }) {
  return html`<div>
    <header>
      <strong>Baton console</strong>
      <nav aria-label="Pages"><ul>
        ${PAGES.map(([href, name]) => html`<li><a href=${href} aria-current=${hash.startsWith(href) ? 'page' : undefined}>${name}</a></li>`)}
      </ul></nav>
      <span class="who">Signed in as ${me.user} (${me.role})${me.fourEyes ? '' : ' · four eyes off'}</span>
      <button type="button" onClick=${onSignOut}>Sign out</button>
    </header>
    <main id="main">${children}</main>
  </div>`;
}

function BarChart({ label, labels, values, type = 'bar' }) {
  const canvas = useRef(null);
  useEffect(() => {
    const chart = new Chart(canvas.current, {
      type,
      data: { labels, datasets: [{ label, data: values, backgroundColor: '#12324a', borderColor: '#12324a' }] },
      options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    return () => chart.destroy();
  }, [type, JSON.stringify(labels), JSON.stringify(values)]);
  return html`<figure>
    <canvas ref=${canvas} role="img" aria-label=${`${label}: ${labels.map((l, i) => `${l} ${values[i]}`).join(', ')}`}></canvas>
    <figcaption>${label}</figcaption>
  </figure>`;
}

function Overview() {
  const [r, reload] = useApi('/overview');
  useEffect(() => {
    const t = setInterval(reload, 5000);
    return () => clearInterval(t);
  }, []);
  if (r.loading) return html`<h1>Overview</h1><p>Loading…</p>`;
  if (!r.ok) return html`<h1>Overview</h1><${Problem} r=${r} />`;
  const f = r.data.figures ?? {};
  const channels = Object.keys(f.messages ?? {});
  return html`<h1>Overview</h1>
    <ul class="figures">
      <li><strong>${f.events ?? '–'}</strong>events</li>
      <li><strong>${f.decisions ?? '–'}</strong>decisions</li>
      <li><strong>${Object.values(f.messages ?? {}).reduce((a, b) => a + b, 0)}</strong>messages</li>
      <li><strong>${r.data.quarantined7d}</strong>quarantined (7 days)</li>
      <li><strong>${f.deadLetters ?? '–'}</strong>dead letters</li>
    </ul>
    ${r.data.figures === null ? html`<p class="note">Live figures come from the local stack's summary; this deployment has none.</p>` : null}
    <div class="charts">
      <${BarChart} label="Messages per channel" labels=${channels.length ? channels : ['none']} values=${channels.length ? channels.map((c) => f.messages[c]) : [0]} />
      <${BarChart} label="Pipeline" labels=${['events', 'decisions', 'quarantined', 'dead letters']} values=${[f.events ?? 0, f.decisions ?? 0, f.quarantined ?? 0, f.deadLetters ?? 0]} />
    </div>`;
}

const channelOf = (rule) => rule?.then?.channel ?? '?';

function Rules({ me }) {
  const [r] = useApi('/rules');
  const [template, setTemplate] = useState(RULE_TEMPLATES[0].name);
  const canEdit = me.role !== 'viewer';
  return html`<h1>Rules</h1>
    ${canEdit
      ? html`<form class="row" onSubmit=${(e) => { e.preventDefault(); sessionStorage.setItem('baton-console-draft', JSON.stringify(RULE_TEMPLATES.find((t) => t.name === template).rule, null, 2)); location.hash = '#/edit'; }}>
          <label>Template <select value=${template} onChange=${(e) => setTemplate(e.currentTarget.value)}>
            ${RULE_TEMPLATES.map((t) => html`<option value=${t.name}>${t.name}</option>`)}
          </select></label>
          <button type="submit">New rule from template</button>
        </form>`
      : null}
    ${r.loading ? html`<p>Loading…</p>` : !r.ok ? html`<${Problem} r=${r} />` : html`<table>
      <caption class="note">${r.data.rules.length} rules</caption>
      <thead><tr><th scope="col">Rule</th><th scope="col">Version</th><th scope="col">State</th><th scope="col">Channel</th><th scope="col">Pending changes</th></tr></thead>
      <tbody>${r.data.rules.map((x) => html`<tr>
        <td><a href=${`#/rules/${encodeURIComponent(x.ruleId)}`}>${x.ruleId}</a></td>
        <td>${x.version ?? 'unversioned'}</td>
        <td>${x.invalid ? `invalid: ${x.invalid}` : x.rule.enabled === false ? 'disabled' : 'enabled'}</td>
        <td>${channelOf(x.rule)}</td>
        <td>${x.pending}</td>
      </tr>`)}</tbody>
    </table>`}`;
}

function Fields({ fields }) {
  if (!fields?.length) return html`<p class="note">No field changes.</p>`;
  return html`<table><thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
    <tbody>${fields.map((f) => html`<tr><td>${f.path || '(rule)'}</td><td><code>${JSON.stringify(f.before) ?? '(absent)'}</code></td><td><code>${JSON.stringify(f.after) ?? '(absent)'}</code></td></tr>`)}</tbody></table>`;
}

function RulePage({ id, me }) {
  const [r, reload] = useApi(`/rules/${encodeURIComponent(id)}`, [id]);
  const [outcome, setOutcome] = useState(null);
  const change = async (kind) => {
    const res = await api(`/rules/${encodeURIComponent(id)}/${kind}`, { method: 'POST' });
    setOutcome(res);
    reload();
  };
  if (r.loading) return html`<h1>Rule ${id}</h1><p>Loading…</p>`;
  if (!r.ok) return html`<h1>Rule ${id}</h1><${Problem} r=${r} />`;
  const rule = r.data.current.content;
  return html`<h1>Rule ${id}</h1>
    <p>Version ${r.data.current.version ?? 'unversioned'}, ${rule.enabled === false ? 'disabled' : 'enabled'}, last changed by ${r.data.current.updatedBy ?? '?'} at ${r.data.current.updatedAt ?? '?'}.</p>
    ${me.role !== 'viewer' ? html`<div class="row">
      <button type="button" onClick=${() => { sessionStorage.setItem('baton-console-draft', JSON.stringify(rule, null, 2)); location.hash = '#/edit'; }}>Edit</button>
      <button type="button" class="secondary" onClick=${() => change(rule.enabled === false ? 'enable' : 'disable')}>${rule.enabled === false ? 'Enable' : 'Disable'}</button>
      <button type="button" class="secondary" onClick=${() => change('rollback')}>Roll back</button>
    </div>` : null}
    ${outcome ? (outcome.ok ? html`<p role="status">${outcome.status === 202 ? `Change ${outcome.data.change.changeId} submitted: it goes live when an approver accepts it.` : 'Applied.'}</p>` : html`<${Problem} r=${outcome} />`) : null}
    <h2>Live rule</h2>
    <pre>${JSON.stringify(rule, null, 2)}</pre>
    <h2>Versions</h2>
    ${r.data.versions.map((v) => html`<section aria-label=${`version ${v.version}`}>
      <h3>Version ${v.version} · ${v.updatedBy ?? '?'} · ${v.updatedAt ?? '?'}${v.rolledBackFrom ? ` · rollback of version ${v.rolledBackFrom}` : ''}</h3>
      <${Fields} fields=${v.fields} />
    </section>`)}
    <h2>Changes</h2>
    <${ChangeTable} changes=${r.data.changes} me=${me} onDecided=${reload} />`;
}

function Editor() {
  const [text, setText] = useState(sessionStorage.getItem('baton-console-draft') ?? JSON.stringify(RULE_TEMPLATES[0].rule, null, 2));
  const [check, setCheck] = useState(null);
  const [samples] = useApi('/samples');
  const [sample, setSample] = useState('baton.pos/SaleCompleted');
  const [eventText, setEventText] = useState('');
  const [customer, setCustomer] = useState('');
  // The chosen sample fills the event, which the marketer may change before the test.
  useEffect(() => {
    api(`/samples/${sample}`).then((r) => r.ok && setEventText(JSON.stringify(r.data.event, null, 2)));
  }, [sample]);
  const [test, setTest] = useState(null);
  const [diff, setDiff] = useState(null);
  const [submitted, setSubmitted] = useState(null);
  const parsed = (() => {
    try {
      return { rule: JSON.parse(text) };
    } catch (e) {
      return { error: `not JSON: ${e.message}` };
    }
  })();
  // Validation as you type: the server's own schema and pattern checks, a moment after the last key.
  useEffect(() => {
    sessionStorage.setItem('baton-console-draft', text);
    if (parsed.error) return setCheck({ valid: false, problems: [parsed.error], warnings: [] });
    const t = setTimeout(async () => {
      const r = await api('/rules/validate', { method: 'POST', body: { rule: parsed.rule } });
      setCheck(r.ok ? r.data : { valid: false, problems: [r.data.reason ?? `refused (${r.status})`], warnings: [] });
    }, 300);
    return () => clearTimeout(t);
  }, [text]);
  const runTest = async () => {
    let event;
    try {
      event = JSON.parse(eventText);
    } catch (e) {
      return setTest({ ok: false, status: 400, data: { reason: `event: not JSON: ${e.message}` } });
    }
    setTest(await api('/rules/test', { method: 'POST', body: { rule: parsed.rule, event, ...(customer ? { customer } : {}) } }));
  };
  const runDiff = async () => setDiff(await api('/rules/diff', { method: 'POST', body: { rule: parsed.rule } }));
  const submit = async () => setSubmitted(await api('/rules', { method: 'POST', body: { rule: parsed.rule } }));
  return html`<h1>Edit rule</h1>
    <label for="rule-text">Rule (JSON)</label>
    <textarea id="rule-text" spellcheck="false" value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
    <div aria-live="polite" id="validation">
      ${check === null ? html`<p class="note">Checking…</p>` : check.valid
        ? html`<p class="valid">Valid: the same checks as baton rules validate.</p>`
        : html`<ul class="problems" aria-label="Validation problems">${check.problems.map((p) => html`<li>${p}</li>`)}</ul>`}
      ${check?.warnings?.length ? html`<ul aria-label="Warnings">${check.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : null}
    </div>
    <h2>Test</h2>
    <p class="note">A dry run: the decision ingest would make now, with this rule only; nothing is sent or written.</p>
    <div class="row">
      <label>Sample event <select value=${sample} onChange=${(e) => setSample(e.currentTarget.value)}>
        ${(samples.data?.samples ?? [sample]).map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label for="event-text">Event (JSON)</label>
      <textarea id="event-text" class="event" spellcheck="false" value=${eventText} onInput=${(e) => setEventText(e.currentTarget.value)}></textarea>
      <label>Customer (any external id, optional) <input value=${customer} onInput=${(e) => setCustomer(e.currentTarget.value)} /></label>
      <button type="button" disabled=${!check?.valid} onClick=${runTest}>Test</button>
    </div>
    ${test ? (test.ok ? html`<section aria-label="Test result" role="status">
      <p>${test.data.eventType} for ${test.data.customerId ?? (test.data.known ? 'a known customer' : 'a new customer')}: ${test.data.wouldSend ? 'would send a message' : test.data.matched ? 'matches, but would send nothing' : 'the rule does not match'}.</p>
      <ul>${test.data.candidates.map((c) => html`<li>${c.outcome} ${c.ruleId} (${c.channel}): ${c.reason}</li>`)}</ul>
    </section>` : html`<${Problem} r=${test} />`) : null}
    <h2>Diff and submit</h2>
    <div class="row">
      <button type="button" class="secondary" disabled=${!!parsed.error} onClick=${runDiff}>Diff against live</button>
      <button type="button" disabled=${!check?.valid} onClick=${submit}>Submit</button>
    </div>
    ${diff ? (diff.ok ? html`<section aria-label="Diff"><p>${diff.data.status === 'new' ? 'A new rule.' : `Against version ${diff.data.against}:`}</p>${diff.data.status === 'new' ? null : html`<${Fields} fields=${diff.data.fields} />`}</section>` : html`<${Problem} r=${diff} />`) : null}
    ${submitted ? (submitted.ok
      ? html`<p role="status">${submitted.status === 202 ? `Submitted change ${submitted.data.change.changeId}: waiting for an approver.` : `Applied as version ${submitted.data.change.version}.`}</p>`
      : html`<${Problem} r=${submitted} />`) : null}`;
}

function ChangeTable({ changes, me, onDecided }) {
  const [outcome, setOutcome] = useState(null);
  const decide = async (c, verb) => {
    setOutcome(await api(`/changes/${encodeURIComponent(c.changeId)}/${verb}`, { method: 'POST', body: {} }));
    onDecided();
  };
  const mayDecide = me.role === 'approver' || me.role === 'admin';
  // The outcome stays on the page after the list reloads, also when it was the last pending change.
  const said = outcome ? (outcome.ok ? html`<p role="status">Change ${outcome.data.change.changeId} ${outcome.data.change.status}${outcome.data.change.version ? `: rule version ${outcome.data.change.version} is live` : ''}.</p>` : html`<${Problem} r=${outcome} />`) : null;
  if (!changes.length) return html`${said}<p class="note">No changes.</p>`;
  return html`${said}
    <table><thead><tr><th scope="col">Rule</th><th scope="col">Change</th><th scope="col">Author</th><th scope="col">Submitted</th><th scope="col">Status</th><th scope="col">Decision</th></tr></thead>
    <tbody>${changes.map((c) => html`<tr>
      <td><a href=${`#/rules/${encodeURIComponent(c.ruleId)}`}>${c.ruleId}</a></td>
      <td>${c.kind}${c.baseVersion ? ` of version ${c.baseVersion}` : ' (new rule)'}</td>
      <td>${c.author}</td><td>${c.submittedAt}</td>
      <td>${c.status}${c.decidedBy ? ` by ${c.decidedBy}` : ''}</td>
      <td>${c.status === 'pending' && mayDecide
        ? html`<button type="button" aria-label=${`Approve ${c.kind} of ${c.ruleId}`} onClick=${() => decide(c, 'approve')}>Approve</button>
               <button type="button" class="secondary" aria-label=${`Reject ${c.kind} of ${c.ruleId}`} onClick=${() => decide(c, 'reject')}>Reject</button>`
        : null}</td>
    </tr>`)}</tbody></table>`;
}

function Changes({ me }) {
  const [r, reload] = useApi('/changes?status=pending');
  return html`<h1>Pending changes</h1>
    <p class="note">A change goes live only when an approver who did not write it accepts it.</p>
    ${r.loading ? html`<p>Loading…</p>` : !r.ok ? html`<${Problem} r=${r} />` : html`<${ChangeTable} changes=${r.data.changes} me=${me} onDecided=${reload} />`}`;
}

function Customers() {
  const [q, setQ] = useState('');
  const [r, setR] = useState(null);
  const search = async (e) => {
    e.preventDefault();
    setR(await api(`/customers?q=${encodeURIComponent(q)}`));
  };
  return html`<h1>Customers</h1>
    <form class="row" role="search" onSubmit=${search}>
      <label>External id or customerId <input value=${q} onInput=${(e) => setQ(e.currentTarget.value)} /></label>
      <button type="submit">Search</button>
    </form>
    ${r ? (r.ok ? (r.data.customers.length ? html`<ul>${r.data.customers.map((c) => html`<li><a href=${`#/customers/${c.customerId}`}>${c.customerId}</a> (found by ${c.kind})</li>`)}</ul>` : html`<p role="status">No customer is known by this id.</p>`) : html`<${Problem} r=${r} />`) : null}`;
}

const VIEW_KEYS = ['firstName', 'lastName', 'tier', 'locale', 'lifecycle', 'consent', 'segments', 'sent', 'opens', 'clicks'];

function CustomerPage({ id, me }) {
  const [r] = useApi(`/customers/${encodeURIComponent(id)}`, [id]);
  const [erased, setErased] = useState(null);
  if (r.loading) return html`<h1>Customer</h1><p>Loading…</p>`;
  if (!r.ok) return html`<h1>Customer</h1><${Problem} r=${r} />`;
  const c = r.data;
  return html`<h1>Customer ${c.customerId}</h1>
    <p>Known by ${c.identities.map((i) => i.split('#')[0]).join(', ')} · version ${c.version} · updated ${c.updatedAt}</p>
    <h2>State</h2>
    <table><tbody>${VIEW_KEYS.filter((k) => c.view[k] !== undefined).map((k) => html`<tr><th scope="row">${k}</th><td>${typeof c.view[k] === 'object' ? JSON.stringify(c.view[k]) : String(c.view[k])}</td></tr>`)}</tbody></table>
    <h2>Decisions and why</h2>
    ${c.decisions.length === 0 ? html`<p class="note">No decisions yet.</p>` : c.decisions.map((d) => html`<section class="decision" aria-label=${`decision on ${d.eventType}`}>
      <h3>${d.at} · ${d.eventType}</h3>
      <ul>${d.candidates.map((x) => html`<li><strong>${x.outcome}</strong> ${x.ruleId} (${x.channel}): ${x.reason}</li>`)}</ul>
      ${d.messages.length ? html`<p>Messages: ${d.messages.map((m) => `${m.channel} ${m.status}${m.template ? ` (template ${m.template}${m.offer ? `, offer ${m.offer}` : ''})` : ''} from ${m.ruleId}`).join('; ')}</p>` : null}
    </section>`)}
    <h2>Timeline</h2>
    <ol>${c.timeline.map((t) => html`<li>${t.at}: ${t.what}${t.detail ? ` (${t.detail})` : ''}</li>`)}</ol>
    ${c.messages ? html`<h2>Messages received</h2><${MessageList} messages=${c.messages} />` : null}
    ${erased ? html`<p role="status">Erasure of ${erased.customerId} requested (request ${erased.requestId}): Baton erases the customer as the event is evaluated.</p>` : null}
    ${me.role === 'admin' && !erased ? html`<${Erasure} customerId=${c.customerId} onErased=${setErased} />` : null}`;
}

function MessageList({ messages }) {
  if (!messages.length) return html`<p class="note">No messages.</p>`;
  return html`${messages.map((m, i) => html`<article aria-label=${`${m.channel} message ${i + 1}`}>
    <h3>${m.channel} to ${m.to} · ${m.at}${m.ruleId ? ` · from ${m.ruleId}` : ''}</h3>
    ${m.subject ? html`<p>Subject: ${m.subject}</p>` : null}
    ${m.html ? html`<iframe sandbox="" title=${`Email ${m.subject ?? ''} as the customer sees it`} srcdoc=${m.html}></iframe>` : html`<pre>${m.text}</pre>`}
  </article>`)}`;
}

function Messages() {
  const [channel, setChannel] = useState('');
  const [r] = useApi('/messages', []);
  const all = r.data?.messages ?? [];
  const shown = all.filter((m) => !channel || m.channel === channel).slice(-30).reverse();
  return html`<h1>Messages</h1>
    <p class="local-only">Local stack only: what each channel's stand-in received.</p>
    <label>Channel <select value=${channel} onChange=${(e) => setChannel(e.currentTarget.value)}>
      <option value="">all</option>
      ${[...new Set(all.map((m) => m.channel))].map((c) => html`<option value=${c}>${c}</option>`)}
    </select></label>
    ${r.loading ? html`<p>Loading…</p>` : !r.ok ? html`<${Problem} r=${r} />` : html`<p class="note">${shown.length} of ${all.length}, newest first</p><${MessageList} messages=${shown} />`}`;
}

function Quarantine({ me }) {
  const [r, reload] = useApi('/quarantine');
  const [replayed, setReplayed] = useState(null);
  const replay = async (e) => {
    setReplayed(await api(`/quarantine/${encodeURIComponent(e.quarantineId)}/replay`, { method: 'POST' }));
    reload();
  };
  const mayReplay = me.role === 'admin';
  return html`<h1>Quarantine</h1>
    <p class="note">Events refused in the last ${r.data?.days ?? 7} days, with the reason. ${mayReplay ? 'Replay runs an event through ingest again (after a fix), as baton quarantine replay does: one that passes is processed and removed.' : 'Admins may replay an event after a fix.'}</p>
    <${Outcome} r=${replayed} said=${(d) => (d.outcome === 'processed' ? `Replayed ${d.quarantineId}: processed and removed from the quarantine.` : `Replayed ${d.quarantineId}: still invalid (${d.code}): ${d.reason}`)} />
    ${r.loading ? html`<p>Loading…</p>` : !r.ok ? html`<${Problem} r=${r} />` : r.data.entries.length === 0 ? html`<p>Nothing quarantined.</p>` : html`<table>
      <thead><tr><th scope="col">Received</th><th scope="col">Code</th><th scope="col">Event</th><th scope="col">Reason</th>${mayReplay ? html`<th scope="col">Replay</th>` : null}</tr></thead>
      <tbody>${r.data.entries.map((e) => html`<tr><td>${e.receivedAt}</td><td>${e.code}</td><td>${e.notJson ? '(not JSON)' : `${e.source} ${e.detailType}`}</td><td>${e.reason}</td>
        ${mayReplay ? html`<td><button type="button" class="secondary" aria-label=${`Replay ${e.quarantineId}`} onClick=${() => replay(e)}>Replay</button></td>` : null}</tr>`)}</tbody>
    </table>`}`;
}

function Audit() {
  const [r] = useApi('/audit');
  return html`<h1>Audit</h1>
    ${r.loading ? html`<p>Loading…</p>` : !r.ok ? html`<${Problem} r=${r} />` : html`<table>
      <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">On</th><th scope="col">Change</th></tr></thead>
      <tbody>${r.data.entries.map((e) => html`<tr><td>${e.at}</td><td>${e.who}</td><td>${e.what}${e.version ? ` (version ${e.version})` : ''}${e.note ? `: ${e.note}` : ''}</td><td>${e.ruleId ?? e.subject ?? ''}</td><td>${e.changeId ? `${e.kind} ${e.changeId}` : ''}</td></tr>`)}</tbody>
    </table>`}`;
}

const mayChange = (me) => me.role !== 'viewer';

function Outcome({ r, said }) {
  if (!r) return null;
  return r.ok ? html`<p role="status">${said(r.data)}</p>` : html`<${Problem} r=${r} />`;
}

function Journeys() {
  const [r] = useApi('/journeys');
  return html`<h1>Journeys</h1>
    ${r.loading ? html`<p>Loading…</p>` : !r.ok ? html`<${Problem} r=${r} />` : r.data.journeys.length === 0 ? html`<p>No journeys (<code>baton journeys put</code> writes one).</p>` : html`<table>
      <thead><tr><th scope="col">Journey</th><th scope="col">Campaign</th><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Last changed</th></tr></thead>
      <tbody>${r.data.journeys.map((j) => html`<tr>
        <td><a href=${`#/journeys/${encodeURIComponent(j.journeyId)}`}>${j.journeyId}</a></td>
        <td>${j.campaignId}</td><td>${j.version ?? 'unversioned'}</td>
        <td>${j.invalid ? `invalid: ${j.invalid}` : j.status}</td><td>${j.updatedBy ?? '?'} · ${j.updatedAt ?? '?'}</td>
      </tr>`)}</tbody></table>`}`;
}

// The step graph: one box per step, top to bottom in the journey's order; an arrow to the step
// below runs straight down, one to any other step bends round the right-hand side.
const BOX = { w: 300, h: 52, gap: 34, x: 20 };
function StepGraph({ steps }) {
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const top = (i) => 10 + i * (BOX.h + BOX.gap);
  const height = top(steps.length) + 10;
  let lane = 0;
  const arrows = steps.flatMap((s, i) => s.next.map((n) => [i, index.get(n)]).filter(([, j]) => j !== undefined)).map(([i, j]) => {
    if (j === i + 1) return html`<line x1=${BOX.x + BOX.w / 2} y1=${top(i) + BOX.h} x2=${BOX.x + BOX.w / 2} y2=${top(j) - 2} class="arrow" marker-end="url(#head)" />`;
    const out = BOX.x + BOX.w + 14 + 14 * lane++;
    const y1 = top(i) + BOX.h / 2;
    const y2 = top(j) + BOX.h / 2;
    return html`<path d=${`M ${BOX.x + BOX.w} ${y1} H ${out} V ${y2} H ${BOX.x + BOX.w + 2}`} class="arrow" fill="none" marker-end="url(#head)" />`;
  });
  const width = BOX.x + BOX.w + 30 + 14 * lane;
  const label = steps.map((s) => `${s.id} (${s.what}): ${s.customers} waiting${s.next.length ? `, then ${s.next.join(' or ')}` : ''}`).join('; ');
  return html`<svg class="graph" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${`Step graph: ${label}`}>
    <defs><marker id="head" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#12324a" /></marker></defs>
    ${arrows}
    ${steps.map((s, i) => html`<g>
      <rect x=${BOX.x} y=${top(i)} width=${BOX.w} height=${BOX.h} rx="6" class=${`step ${s.type}`} />
      <text x=${BOX.x + 10} y=${top(i) + 20} class="step-id">${s.id}</text>
      <text x=${BOX.x + 10} y=${top(i) + 40} class="step-what">${s.what}</text>
      <text x=${BOX.x + BOX.w - 10} y=${top(i) + 31} text-anchor="end" class="step-count">${s.customers}</text>
    </g>`)}
  </svg>`;
}

function JourneyPage({ id, me }) {
  const [r, reload] = useApi(`/journeys/${encodeURIComponent(id)}`, [id]);
  const [outcome, setOutcome] = useState(null);
  const act = async (verb) => {
    setOutcome(await api(`/journeys/${encodeURIComponent(id)}/${verb}`, { method: 'POST' }));
    reload();
  };
  if (r.loading) return html`<h1>Journey ${id}</h1><p>Loading…</p>`;
  if (!r.ok) return html`<h1>Journey ${id}</h1><${Problem} r=${r} />`;
  const j = r.data;
  const o = j.outcomes;
  return html`<h1>Journey ${id}</h1>
    <p>Version ${j.version ?? 'unversioned'} · campaign ${j.campaignId} · <strong>${j.status}</strong>${j.invalid ? ` · invalid: ${j.invalid}` : ''}</p>
    ${mayChange(me) ? html`<div class="row">
      ${j.status === 'paused'
        ? html`<button type="button" onClick=${() => act('resume')}>Resume</button>`
        : html`<button type="button" class="secondary" onClick=${() => act('pause')}>Pause</button>`}
    </div>` : null}
    <${Outcome} r=${outcome} said=${(d) => `Journey ${d.journeyId} is ${d.status} (version ${d.version}).`} />
    <ul class="figures" aria-label="Conversions">
      <li><strong>${j.steps.reduce((n, s) => n + s.customers, 0)}</strong>in the journey</li>
      <li><strong>${o.converted}</strong>reached the goal</li>
      <li><strong>${o.exited}</strong>exited</li>
      <li><strong>${o.completed}</strong>completed</li>
    </ul>
    <h2>Steps</h2>
    <p class="note">The number in each box: customers waiting in that step now (every version).</p>
    <${StepGraph} steps=${j.steps} />
    <h2>Versions</h2>
    <table><thead><tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">By</th><th scope="col">At</th></tr></thead>
      <tbody>${j.versions.map((v) => html`<tr><td>${v.version}</td><td>${v.status}</td><td>${v.updatedBy ?? '?'}</td><td>${v.updatedAt ?? '?'}</td></tr>`)}</tbody></table>`;
}

function RunTable({ runs }) {
  if (!runs.length) return html`<p class="note">No runs.</p>`;
  return html`<table><thead><tr><th scope="col">Run</th><th scope="col">Campaign</th><th scope="col">Segment</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Sent</th><th scope="col">Deferred</th><th scope="col">Suppressed</th></tr></thead>
    <tbody>${runs.map((x) => {
      const suppressed = Object.values(x.counts.suppressed).reduce((a, b) => a + b, 0);
      const share = x.members ? Math.min(100, Math.round((100 * x.counts.decided) / x.members)) : 0;
      return html`<tr>
        <td>${x.runId}</td><td>${x.campaignId}</td><td><a href=${`#/segments/${encodeURIComponent(x.segmentId)}`}>${x.segmentId}</a></td><td>${x.state}</td>
        <td><progress max=${Math.max(x.members, 1)} value=${Math.min(x.counts.decided, Math.max(x.members, 1))} aria-label=${`run ${x.runId}: ${x.counts.decided} of ${x.members} members decided`}></progress> ${x.counts.decided} of ${x.members} decided (${share} %)</td>
        <td>${x.counts.sent}</td><td>${x.counts.deferred}</td>
        <td>${suppressed}${suppressed ? ` (${Object.entries(x.counts.suppressed).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}</td>
      </tr>`;
    })}</tbody></table>`;
}

function Segments() {
  const [r] = useApi('/segments');
  const [runs] = useApi('/runs');
  return html`<h1>Segments and runs</h1>
    ${r.loading ? html`<p>Loading…</p>` : !r.ok ? html`<${Problem} r=${r} />` : html`<table>
      <thead><tr><th scope="col">Segment</th><th scope="col">Kind</th><th scope="col">Version</th><th scope="col">State</th><th scope="col">Members</th></tr></thead>
      <tbody>${r.data.segments.map((x) => html`<tr>
        <td><a href=${`#/segments/${encodeURIComponent(x.segmentId)}`}>${x.segmentId}</a></td><td>${x.kind}</td><td>${x.version ?? 'unversioned'}</td>
        <td>${x.invalid ? `invalid: ${x.invalid}` : x.enabled ? 'enabled' : 'disabled'}</td><td>${x.members}</td>
      </tr>`)}</tbody></table>`}
    <h2>Runs</h2>
    ${runs.loading ? html`<p>Loading…</p>` : !runs.ok ? html`<${Problem} r=${runs} />` : html`<${RunTable} runs=${runs.data.runs} />`}`;
}

function SegmentPage({ id }) {
  const [r] = useApi(`/segments/${encodeURIComponent(id)}`, [id]);
  if (r.loading) return html`<h1>Segment ${id}</h1><p>Loading…</p>`;
  if (!r.ok) return html`<h1>Segment ${id}</h1><${Problem} r=${r} />`;
  const x = r.data;
  return html`<h1>Segment ${id}</h1>
    <p>${x.members} members now · version ${x.version ?? 'unversioned'} · changed by ${x.updatedBy ?? '?'} at ${x.updatedAt ?? '?'}</p>
    <h2>Definition</h2>
    <pre>${JSON.stringify(x.definition, null, 2)}</pre>
    <h2>Size over time</h2>
    <p class="note">Today's members by the day they joined (the last 30 days): those who left since are not counted.</p>
    <div class="charts"><${BarChart} type="line" label="Members" labels=${x.sizeByDay.map((d) => d.day.slice(5))} values=${x.sizeByDay.map((d) => d.members)} /></div>
    <h2>Runs to this segment</h2>
    <${RunTable} runs=${x.runs} />`;
}

const REPORT_FIGURES = ['decided', 'sent', 'delivered', 'opened', 'clicked', 'converted'];

function Reports() {
  const [meta] = useApi('/reports');
  const [kind, setKind] = useState('channel');
  const [id, setId] = useState('');
  const [by, setBy] = useState('day');
  const [r, setR] = useState(null);
  const needsId = kind === 'campaign' || kind === 'journey';
  const ids = needsId ? (kind === 'campaign' ? meta.data?.campaigns : meta.data?.journeys) ?? [] : [];
  const query = () => `?${new URLSearchParams({ by, ...(needsId && id ? { id } : {}) })}`;
  const show = async (e) => {
    e.preventDefault();
    setR(await api(`/reports/${kind}${query()}`));
  };
  const download = async () => {
    const res = await api(`/reports/${kind}${query()}&format=csv`);
    if (!res.ok) return setR(res);
    // The server built the rows (the CLI's --csv code); the page only hands them to the browser as a file.
    const url = URL.createObjectURL(new Blob([res.data.csv], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = res.data.filename;
    a.click();
    URL.revokeObjectURL(url);
  };
  const reports = r?.ok ? r.data.reports : [];
  const name = (rep) => (kind === 'journey' ? rep.dimension.id.slice(`${id}/`.length) : rep.dimension.id);
  return html`<h1>Reports</h1>
    <p class="note">The reports of <code>baton report</code>, from the report aggregates (docs/reports.md); the CSV is the one <code>--csv</code> prints.</p>
    <form class="row" onSubmit=${show}>
      <label>Report <select value=${kind} onChange=${(e) => { setKind(e.currentTarget.value); setId(''); setR(null); }}>
        ${(meta.data?.reports ?? ['campaign', 'channel', 'offer', 'segment', 'journey']).map((k) => html`<option value=${k}>${k}</option>`)}
      </select></label>
      ${needsId ? html`<label>${kind === 'campaign' ? 'Campaign' : 'Journey'} <input list="report-ids" value=${id} onInput=${(e) => setId(e.currentTarget.value)} /></label>
        <datalist id="report-ids">${ids.map((x) => html`<option value=${x}></option>`)}</datalist>` : null}
      <label>Rows per <select value=${by} onChange=${(e) => setBy(e.currentTarget.value)}><option value="day">day</option><option value="week">week</option></select></label>
      <button type="submit">Show</button>
      <button type="button" class="secondary" onClick=${download}>Download CSV</button>
    </form>
    ${r && !r.ok ? html`<${Problem} r=${r} />` : null}
    ${r?.ok ? html`<section aria-label="Report">
      <p role="status">${r.data.report}${r.data.id ? ` ${r.data.id}` : ''}, ${r.data.from} to ${r.data.to}: ${reports.length ? `${reports.length} row(s)` : 'nothing counted in this period'}.</p>
      ${reports.length ? html`<div class="charts">
        ${kind === 'campaign'
          ? html`<${BarChart} label="Sent per period" labels=${reports[0].rows.map((x) => x.period)} values=${reports[0].rows.map((x) => x.counts.sent ?? 0)} />`
          : html`<${BarChart} label=${`Sent per ${kind === 'journey' ? 'step' : kind}`} labels=${reports.map(name)} values=${reports.map((x) => x.total.sent ?? 0)} />`}
      </div>
      <table><thead><tr><th scope="col">${kind === 'journey' ? 'step' : kind}</th>${REPORT_FIGURES.map((f) => html`<th scope="col">${f}</th>`)}<th scope="col">open rate</th><th scope="col">click rate</th></tr></thead>
        <tbody>${reports.map((x) => html`<tr><td>${name(x)}</td>${REPORT_FIGURES.map((f) => html`<td>${x.total[f] ?? 0}</td>`)}
          <td>${x.rates.open === undefined ? '–' : `${(x.rates.open * 100).toFixed(1)} %`}</td><td>${x.rates.click === undefined ? '–' : `${(x.rates.click * 100).toFixed(1)} %`}</td></tr>`)}</tbody></table>` : null}
    </section>` : null}`;
}

function Erasure({ customerId, onErased }) {
  const dialog = useRef(null);
  const [typed, setTyped] = useState('');
  const [r, setR] = useState(null);
  const erase = async (e) => {
    e.preventDefault();
    const res = await api(`/customers/${encodeURIComponent(customerId)}/erase`, { method: 'POST', body: { confirm: typed } });
    setR(res);
    if (res.ok) {
      dialog.current.close();
      onErased(res.data);
    }
  };
  return html`<section aria-labelledby="erasure">
    <h2 id="erasure">Erasure</h2>
    <p class="note">Erases the customer everywhere Baton keeps them (docs/operations.md): a CustomerErased event on the bus, as the CRM sends it. It cannot be undone.</p>
    <button type="button" class="danger" onClick=${() => { setTyped(''); setR(null); dialog.current.showModal(); }}>Erase this customer…</button>
    <dialog ref=${dialog} aria-labelledby="erase-title">
      <form onSubmit=${erase}>
        <h3 id="erase-title">Erase customer ${customerId}?</h3>
        <p>Their profile, ids, decisions, messages, journeys and loyalty ledger are removed; only anonymous totals stay. Type the customer id to confirm.</p>
        <label>Customer id to erase <input value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} autocomplete="off" /></label>
        ${r && !r.ok ? html`<${Problem} r=${r} />` : null}
        <div class="row">
          <button type="submit" class="danger" disabled=${typed !== customerId}>Erase ${customerId}</button>
          <button type="button" class="secondary" onClick=${() => dialog.current.close()}>Cancel</button>
        </div>
      </form>
    </dialog>
  </section>`;
}

function App() {
  const hash = useHash();
  const [me, setMe] = useState(undefined);
  const load = () => api('/me').then((r) => setMe(r.ok ? r.data : null));
  useEffect(() => void load(), []);
  if (me === undefined) return html`<main id="main"><p>Loading…</p></main>`;
  if (me === null) return html`<${SignIn} onSignIn=${(u) => { sessionStorage.setItem(USER_KEY, u); load(); }} />`;
  const signOut = () => { sessionStorage.removeItem(USER_KEY); setMe(null); };
  const [, page, id] = hash.split('/').map(decodeURIComponent);
  const body =
    page === 'rules' && id ? html`<${RulePage} id=${id} me=${me} />`
    : page === 'rules' ? html`<${Rules} me=${me} />`
    : page === 'edit' ? html`<${Editor} />`
    : page === 'changes' ? html`<${Changes} me=${me} />`
    : page === 'journeys' && id ? html`<${JourneyPage} id=${id} me=${me} />`
    : page === 'journeys' ? html`<${Journeys} />`
    : page === 'segments' && id ? html`<${SegmentPage} id=${id} />`
    : page === 'segments' ? html`<${Segments} />`
    : page === 'reports' ? html`<${Reports} />`
    : page === 'customers' && id ? html`<${CustomerPage} id=${id} me=${me} />`
    : page === 'customers' ? html`<${Customers} />`
    : page === 'messages' ? html`<${Messages} />`
    : page === 'quarantine' ? html`<${Quarantine} me=${me} />`
    : page === 'audit' ? html`<${Audit} />`
    : html`<${Overview} />`;
  return html`<${Shell} me=${me} hash=${hash} onSignOut=${signOut}>${body}<//>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading" placeholder: preact renders next to what is there
render(html`<${App} />`, root);

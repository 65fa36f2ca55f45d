"""The page's HTML and script: plain markup, no external assets (the device may be offline)."""

from __future__ import annotations

import html
import json

from edge.skeleton import EDGES

_STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:60em}#stage{position:relative;display:inline-block;
cursor:crosshair}#snap{display:block;max-width:100%}#blank{width:640px;max-width:100%;aspect-ratio:4/3;
background:#f4f4f4;outline:1px solid #999}#overlay{position:absolute;left:0;top:0;width:100%;height:100%}
.zone{fill:rgba(0,160,255,.25);stroke:#0af;stroke-width:2}.drawing{fill:none;stroke:#f80;stroke-width:2}
.bone{stroke-width:4;stroke-linecap:round}line.state-ok{stroke:#282}line.state-suspected{stroke:#d70}
line.state-alert{stroke:#c00}.state-alert{color:#c00}.state-suspected{color:#d70}.state-ok{color:#080}
button{font-size:1em;margin-right:.5em}#alert{background:#fdd;padding:.5em;font-weight:bold}
#events li{margin:.3em 0}#events img{height:6em;vertical-align:middle;margin-left:1em;border:1px solid #ccc}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left}
.PASS{color:#080}.WARN{color:#d70}.FAIL{color:#c00}.SKIP{color:#888}
#settings th{font-weight:normal;white-space:nowrap;vertical-align:top}#settings td{vertical-align:top}
#settings .doc{color:#555;font-size:.9em}#settings td:nth-child(2){white-space:nowrap}#settings input[type=number]{width:7em}"""

_HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{meta}<title>FallWatch {room}</title>
<style>{style}</style></head><body>"""

_LOGIN = """<h1>FallWatch: {room}</h1><form method="post" action="/login">
<input type="hidden" name="token" value="{token}">
<p><label>Password <input type="password" name="password" id="password" autofocus></label>
<button id="login">Log in</button></p><p id="error" class="state-alert">{error}</p></form></body></html>"""

_CAMERA = '<img id="snap" src="/snapshot.jpg" alt="the camera\'s latest picture">'
_BLANK = '<div id="blank" title="skeletons only: web.show_camera = false"></div>'

_MAIN = """<h1>FallWatch: {room}</h1>
<p>State: <b id="state">…</b> &middot; <span id="fps">0</span> fps &middot; people in view: <span id="people">0</span>
&middot; <button id="logout">Log out</button></p>
<p id="alert" hidden>An alert is open and nobody has acknowledged it yet.
<button id="ack">Acknowledge: I am taking care of it</button></p>
<h2>Live view and bed zones</h2>
<p>{view} Click on the picture to place the corners of a zone, then "Close zone". Lying inside a zone
never raises an alarm; lying anywhere else for long does. "Save zones" writes them to the config file
and the detector uses them at once.</p>
<div id="stage">{background}<svg id="overlay" viewBox="0 0 1 1" preserveAspectRatio="none">
<g id="zones"></g><g id="skeletons"></g></svg></div>
<p><button id="close">Close zone</button><button id="undo">Undo point</button><button id="clear">Clear all</button>
<button id="save">Save zones</button> <span id="saved"></span></p>
<h2>Latest events</h2><ol id="events"></ol>
<h2>Test alert</h2>
<p>Sounds the buzzer and LED for a few seconds, has the voice say a test sentence, and sends a test
message through every push channel of every tier, showing how each delivery went. Nothing is tested
while a real alarm is on.
<button id="test-alert">Send a test alert</button> <span id="test-result"></span></p><ul id="test"></ul>
<h2>Checks</h2>
<p>The checks of <code>fallwatch doctor</code> on this service's config (a few seconds).
<button id="doctor">Run the checks</button> <span id="doctor-result"></span></p>
<table><tbody id="checks"></tbody></table>
<h2>Settings</h2>
<p>The config file's keys for this room, as declared in the config (doc, unit, bounds, default). "Save
settings" writes the keys you changed into the config file; the fall rule's ([events]) apply at once,
the others after a restart. Secrets and lists are set in the config file itself.</p>
<div id="settings"></div>
<p><button id="save-settings">Save settings</button> <span id="settings-result"></span></p>
<h2>History</h2>
<p><button id="newer" disabled>Newer</button><button id="older" disabled>Older</button>
<span id="history-page"></span> <label><input type="checkbox" id="routine"> show routine events
(heartbeats)</label></p><table><tbody id="history"></tbody></table>
<script src="/app.js"></script></body></html>"""

_SCRIPT = """"use strict";
const EDGES = __EDGES__;
const csrf = document.querySelector('meta[name=csrf]').content;
const svg = document.getElementById('overlay');
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
let zones = null, current = [], historyPage = 0;
function svgElement(kind, attrs) {
  const el = document.createElementNS(SVG, kind);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.setAttribute('vector-effect', 'non-scaling-stroke');
  return el;
}
function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}
function when(iso) { return new Date(iso).toLocaleString(); }
function drawZones() {
  const points = (p) => p.map((q) => q.join(',')).join(' ');
  $('zones').replaceChildren(...(zones || []).map((z) => svgElement('polygon', {points: points(z), class: 'zone'})));
  if (current.length) $('zones').appendChild(svgElement('polyline', {points: points(current), class: 'drawing'}));
}
function drawSkeletons(skeletons) {
  const bones = [];
  for (const s of skeletons) for (const [a, b] of EDGES) {
    const p = s.keypoints[a], q = s.keypoints[b];
    if (p[2] > 0 && q[2] > 0) bones.push(svgElement('line',
      {x1: p[0], y1: p[1], x2: q[0], y2: q[1], class: 'bone state-' + s.state}));
  }
  $('skeletons').replaceChildren(...bones);
}
async function post(path) {
  const r = await fetch(path, {method: 'POST', headers: {'X-CSRF-Token': csrf}});
  return [r.ok, await r.json()];
}
$('stage').addEventListener('click', (e) => {
  const r = svg.getBoundingClientRect();
  const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  const y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
  current.push([+x.toFixed(4), +y.toFixed(4)]);
  drawZones();
});
$('close').onclick = () => { if (current.length >= 3) { zones.push(current); current = []; drawZones(); } };
$('undo').onclick = () => { current.pop(); drawZones(); };
$('clear').onclick = () => { zones = []; current = []; drawZones(); };
$('save').onclick = async () => {
  const r = await fetch('/zones', {method: 'POST', body: JSON.stringify({zones}),
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}});
  const body = await r.json();
  $('saved').textContent = r.ok ? `Saved ${body.zones.length} zone(s).` : `Not saved: ${body.error}`;
};
$('logout').onclick = async () => { await post('/logout'); location.href = '/login'; };
$('ack').onclick = async () => {
  const [ok, body] = await post('/acknowledge');
  $('ack').textContent = ok ? 'Acknowledged' : `Not acknowledged: ${body.error}`;
};
function showTest(deliveries) {
  $('test').replaceChildren(...deliveries.map((d) => {
    const li = document.createElement('li');
    li.textContent = `${d.channel}: ${d.state}` + (d.attempts ? ` (${d.attempts} attempt(s))` : '');
    li.className = {delivered: 'PASS', failed: 'FAIL'}[d.state] || 'WARN';
    return li;
  }));
}
$('test-alert').onclick = async () => {
  const [ok, body] = await post('/test-alert');
  const voice = body.voice ? ', the voice speaks' : '';
  $('test-result').textContent = ok ? `Buzzer and LED on for ${body.sound_s} s${voice}; ` +
    `queued for ${body.deliveries.length} push channel(s).` : body.error;
  if (ok) showTest(body.deliveries);
};
$('doctor').onclick = async () => {
  $('doctor-result').textContent = 'running…';
  const [ok, body] = await post('/doctor');
  if (!ok) { $('doctor-result').textContent = body.error; return; }
  const failed = body.checks.filter((c) => c.status === 'FAIL').length;
  $('doctor-result').textContent = failed ? `${failed} check(s) failed` : 'ready';
  $('checks').replaceChildren();
  for (const c of body.checks) {
    const row = $('checks').insertRow();
    cell(row, c.status, c.status);
    cell(row, c.name);
    cell(row, c.detail + (c.fix && c.status !== 'PASS' ? `  (fix: ${c.fix})` : ''));
  }
};
async function showHistory(page) {
  const r = await fetch('/history.json?page=' + page + ($('routine').checked ? '&routine=1' : ''));
  if (!r.ok) return;
  const body = await r.json();
  historyPage = body.page;
  $('history').replaceChildren();
  for (const e of body.events) {
    const row = $('history').insertRow();
    cell(row, when(e.wall_time));
    cell(row, e.event);
    cell(row, e.track_id === null ? '' : `person ${e.track_id}`);
    cell(row, e.detail || '');
  }
  $('history-page').textContent = body.logged ? `page ${page + 1}` : 'no events log (log.events is empty)';
  $('newer').disabled = page === 0;
  $('older').disabled = !body.older;
}
$('newer').onclick = () => showHistory(historyPage - 1);
$('older').onclick = () => showHistory(historyPage + 1);
$('routine').onchange = () => showHistory(0);
function eventItem(e) {
  const li = document.createElement('li');
  li.textContent = `${when(e.wall_time)}  ${e.event}` + (e.track_id === null ? '' : ` (person ${e.track_id})`);
  if (e.picture) {
    const img = document.createElement('img');
    img.src = `/events/${e.id}.png`;
    img.alt = `the skeleton of person ${e.track_id} at ${e.event}`;
    li.appendChild(img);
  }
  return li;
}
let shownEvents = null;
async function refresh() {
  const r = await fetch('/status.json');
  if (r.status === 401) { location.href = '/login'; return; }
  const s = await r.json();
  $('state').textContent = s.state;
  $('state').className = 'state-' + s.state;
  $('fps').textContent = s.fps.toFixed(1);
  $('people').textContent = s.people;
  if (s.alert_open && $('alert').hidden) $('ack').textContent = 'Acknowledge: I am taking care of it';
  $('alert').hidden = !s.alert_open;
  if ($('blank')) $('blank').style.aspectRatio = String(s.aspect);
  else if (s.video_time !== null) $('snap').src = '/snapshot.jpg?t=' + Date.now();
  drawSkeletons(s.skeletons);
  const ids = s.events.map((e) => e.id).join();
  if (ids !== shownEvents) {
    shownEvents = ids;
    if (!s.events.length) { $('events').replaceChildren(); $('events').textContent = 'none yet'; }
    else $('events').replaceChildren(...s.events.map(eventItem));
    showHistory(historyPage);
  }
  if (s.test.length) showTest(s.test);
  if (zones === null) { zones = s.zones; drawZones(); }
}
refresh();
setInterval(refresh, 1000);
"""

# The Settings section, built from /settings.json (edge.config.form_fields): one input per key, by kind.
_SETTINGS_SCRIPT = """
let settingFields = [], restartCommand = '';
function settingInput(f) {
  if (!f.editable) {
    const span = document.createElement('span');
    span.textContent = f.secret ? 'secret: set in the config file' : JSON.stringify(f.value) +
      (f.key === 'events.bed_zones' ? ' (draw them on the live view)' : ' (set in the config file)');
    return span;
  }
  let input;
  if (f.kind === 'choice') {
    input = document.createElement('select');
    for (const c of f.choices) input.add(new Option(String(c), String(c), false, c === f.value));
  } else {
    input = document.createElement('input');
    input.type = {bool: 'checkbox', int: 'number', float: 'number'}[f.kind] || 'text';
    if (f.kind === 'bool') input.checked = f.value;
    else input.value = String(f.value);
    if (f.kind === 'int' || f.kind === 'float') {
      input.step = f.kind === 'int' ? '1' : 'any';
      const low = f.limits.ge ?? f.limits.gt, high = f.limits.le ?? f.limits.lt;
      if (low !== undefined) input.min = String(low);
      if (high !== undefined) input.max = String(high);
    }
  }
  input.id = 'setting-' + f.key;
  return input;
}
function settingValue(f) {
  const input = $('setting-' + f.key);
  if (f.kind === 'bool') return input.checked;
  if (f.kind === 'choice') return f.choices.find((c) => String(c) === input.value);
  if (f.kind === 'int' || f.kind === 'float') return input.value.trim() === '' || isNaN(input.value) ? input.value : Number(input.value);
  return input.value;
}
function settingRow(table, f) {
  const row = table.insertRow();
  const label = document.createElement('label');
  label.htmlFor = 'setting-' + f.key;
  label.textContent = f.key.split('.').pop();
  row.appendChild(document.createElement('th')).appendChild(label);
  const value = row.insertCell();
  value.appendChild(settingInput(f));
  if (f.unit) value.append(' ' + f.unit);
  const doc = row.insertCell();
  doc.className = 'doc';
  const shown = f.secret ? '' : ` Default: ${JSON.stringify(f.default)}${f.unit ? ' ' + f.unit : ''}.`;
  const rule = f.bounds ? ` Must be ${f.bounds}.` : '';
  doc.textContent = f.doc + rule + shown + (f.editable ? (f.live ? ' Applies at once.' : ' Applies after a restart.') : '');
}
async function showSettings() {
  const r = await fetch('/settings.json');
  const body = await r.json();
  if (!r.ok) { $('settings').textContent = body.error; return; }
  restartCommand = body.restart;
  settingFields = [];
  $('settings').replaceChildren();
  for (const section of body.sections) {
    const title = document.createElement('h3');
    title.textContent = (section.name ? `[${section.name}] ` : '') + section.doc;
    const table = document.createElement('table');
    table.id = 'settings-' + (section.name || 'top');
    for (const f of section.fields) { settingRow(table, f); settingFields.push(f); }
    $('settings').append(title, table);
  }
}
$('save-settings').onclick = async () => {
  const values = {};
  for (const f of settingFields) {
    if (f.editable && JSON.stringify(settingValue(f)) !== JSON.stringify(f.value)) values[f.key] = settingValue(f);
  }
  if (!Object.keys(values).length) { $('settings-result').textContent = 'Nothing changed.'; return; }
  const r = await fetch('/settings', {method: 'POST', body: JSON.stringify({values}),
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}});
  const body = await r.json();
  if (!r.ok) { $('settings-result').textContent = `Not saved: ${body.error}`; return; }
  const done = [];
  if (body.live.length) done.push(`${body.live.join(', ')}: applied now`);
  if (body.restart.length) done.push(`${body.restart.join(', ')}: applies after ${restartCommand}`);
  $('settings-result').textContent = `Saved. ${done.join('; ')}.`;
  await showSettings();
};
showSettings();
"""

SCRIPT = _SCRIPT.replace("__EDGES__", json.dumps(EDGES)) + _SETTINGS_SCRIPT


def login(room: str, error: str, token: str) -> str:
    """The login form; `error` is shown under it; `token` must come back with it (and in its cookie)."""
    head = _HEAD.format(meta="", room=html.escape(room), style=_STYLE)
    return head + _LOGIN.format(room=html.escape(room), error=html.escape(error), token=html.escape(token))


def main(room: str, csrf: str, show_camera: bool) -> str:
    """Status, the live view and zone editor (on the camera picture only if show_camera), events, test
    alert, checks and history; `csrf` is the session's token, sent back with every change."""
    meta = f'<meta name="csrf" content="{html.escape(csrf)}">'
    view = (
        "The live view shows the camera's picture (web.show_camera = true) with the skeletons of the people in it."
        if show_camera
        else "The live view shows only the skeletons of the people in view, never the camera's picture "
        "(web.show_camera = false)."
    )
    return _HEAD.format(meta=meta, room=html.escape(room), style=_STYLE) + _MAIN.format(
        room=html.escape(room), view=view, background=_CAMERA if show_camera else _BLANK
    )

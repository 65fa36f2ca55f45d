"""The page's HTML and script: plain markup, no external assets (the device may be offline)."""

from __future__ import annotations

import html

_STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:60em}#stage{position:relative;display:inline-block;
cursor:crosshair}#snap{display:block;max-width:100%}#overlay{position:absolute;left:0;top:0;width:100%;height:100%}
.zone{fill:rgba(0,160,255,.25);stroke:#0af;stroke-width:2}.drawing{fill:none;stroke:#f80;stroke-width:2}
.state-alert{color:#c00}.state-suspected{color:#d70}.state-ok{color:#080}button{font-size:1em;margin-right:.5em}"""

_HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{meta}<title>FallWatch {room}</title>
<style>{style}</style></head><body>"""

_LOGIN = """<h1>FallWatch: {room}</h1><form method="post" action="/login">
<p><label>Password <input type="password" name="password" id="password" autofocus></label>
<button id="login">Log in</button></p><p id="error" class="state-alert">{error}</p></form></body></html>"""

_MAIN = """<h1>FallWatch: {room}</h1>
<p>State: <b id="state">…</b> &middot; <span id="fps">0</span> fps &middot; people in view: <span id="people">0</span>
&middot; <button id="logout">Log out</button></p>
<h2>Latest events</h2><ol id="events"></ol>
<h2>Bed and sofa zones</h2>
<p>Click on the picture to place the corners of a zone, then "Close zone". Lying inside a zone never
raises an alarm; lying anywhere else for long does. "Save zones" writes them to the config file and the
detector uses them at once.</p>
<div id="stage"><img id="snap" src="/snapshot.jpg" alt="the camera's latest picture">
<svg id="overlay" viewBox="0 0 1 1" preserveAspectRatio="none"></svg></div>
<p><button id="close">Close zone</button><button id="undo">Undo point</button><button id="clear">Clear all</button>
<button id="save">Save zones</button> <span id="saved"></span></p>
<script src="/app.js"></script></body></html>"""

SCRIPT = """"use strict";
const csrf = document.querySelector('meta[name=csrf]').content;
const svg = document.getElementById('overlay');
const $ = (id) => document.getElementById(id);
let zones = null, current = [];
function shape(points, cls) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', cls === 'zone' ? 'polygon' : 'polyline');
  el.setAttribute('points', points.map((p) => p.join(',')).join(' '));
  el.setAttribute('class', cls);
  el.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.appendChild(el);
}
function draw() {
  svg.replaceChildren();
  for (const z of zones || []) shape(z, 'zone');
  if (current.length) shape(current, 'drawing');
}
$('stage').addEventListener('click', (e) => {
  const r = svg.getBoundingClientRect();
  const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  const y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
  current.push([+x.toFixed(4), +y.toFixed(4)]);
  draw();
});
$('close').onclick = () => { if (current.length >= 3) { zones.push(current); current = []; draw(); } };
$('undo').onclick = () => { current.pop(); draw(); };
$('clear').onclick = () => { zones = []; current = []; draw(); };
$('save').onclick = async () => {
  const r = await fetch('/zones', {method: 'POST', body: JSON.stringify({zones}),
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}});
  const body = await r.json();
  $('saved').textContent = r.ok ? `Saved ${body.zones.length} zone(s).` : `Not saved: ${body.error}`;
};
$('logout').onclick = async () => {
  await fetch('/logout', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
  location.href = '/login';
};
async function refresh() {
  const r = await fetch('/status.json');
  if (r.status === 401) { location.href = '/login'; return; }
  const s = await r.json();
  $('state').textContent = s.state;
  $('state').className = 'state-' + s.state;
  $('fps').textContent = s.fps.toFixed(1);
  $('people').textContent = s.people;
  if (!s.events.length) { $('events').replaceChildren(); $('events').textContent = 'none yet'; }
  else $('events').replaceChildren(...s.events.map((e) => {
    const li = document.createElement('li');
    li.textContent = `${e.wall_time}  ${e.event}` + (e.track_id === null ? '' : ` (person ${e.track_id})`);
    return li;
  }));
  if (zones === null) { zones = s.zones; draw(); }
  if (!$('snap').naturalWidth && s.video_time !== null) $('snap').src = '/snapshot.jpg?t=' + Date.now();
}
refresh();
setInterval(refresh, 1000);
"""


def login(room: str, error: str) -> str:
    """The login form; `error` is shown under it."""
    head = _HEAD.format(meta="", room=html.escape(room), style=_STYLE)
    return head + _LOGIN.format(room=html.escape(room), error=html.escape(error))


def main(room: str, csrf: str) -> str:
    """Status and the zone editor; `csrf` is the session's token, sent back with every change."""
    meta = f'<meta name="csrf" content="{html.escape(csrf)}">'
    return _HEAD.format(meta=meta, room=html.escape(room), style=_STYLE) + _MAIN.format(room=html.escape(room))

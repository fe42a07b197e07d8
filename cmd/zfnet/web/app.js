// zfnet serve: the page. Plain JavaScript, no framework. The URL's query
// holds the view (image, layer, unit, y, x, rule, lrn, sort, and the
// explanation: explain, class, camlayer, srule, samples, noise, steps,
// baseline), so a view can be bookmarked or shared; every change rewrites it.
'use strict';

const $ = (id) => document.getElementById(id);
const PAGE = 48;

let model = null;
let state = { image: '', layer: '', unit: -1, y: -1, x: -1, rule: 'deconvnet', lrn: false, sort: false, all: false,
  explain: '', cls: -1, camlayer: '', srule: '', samples: 0, noise: -1, steps: 0, baseline: '' };
let features = null;   // the latest /api/features answer for state.image/layer
let sprite = null;     // its decoded sprite
let order = [];        // tile order (map numbers)
let layout = null;     // tile geometry on the canvas
let offset = 0;        // first thumbnail shown
const uploads = [];    // {id, name} of this tab's uploads
const controllers = {}; // in-flight requests by kind, so a newer one cancels the older

function status(msg) { $('status').textContent = msg; }

function readURL() {
  const q = new URLSearchParams(location.search);
  const num = (k) => (q.has(k) && /^\d+$/.test(q.get(k)) ? parseInt(q.get(k), 10) : -1);
  state.image = q.get('image') || '';
  state.layer = q.get('layer') || '';
  state.unit = num('unit');
  state.y = num('y');
  state.x = num('x');
  if (state.y < 0 || state.x < 0) { state.y = -1; state.x = -1; }
  state.rule = ['deconvnet', 'guided', 'saliency'].includes(q.get('rule')) ? q.get('rule') : 'deconvnet';
  state.lrn = q.get('lrn') === '1';
  state.sort = q.get('sort') === '1';
  state.all = q.get('all') === '1';
  // The explanation: unknown or out-of-range values fall back to the defaults.
  const ex = model.explain, def = ex.defaults;
  state.explain = ex.methods.includes(q.get('explain')) ? q.get('explain') : '';
  state.cls = num('class') < model.classes ? num('class') : -1;
  state.camlayer = ex.layers.includes(q.get('camlayer')) ? q.get('camlayer') : def.layer;
  state.srule = ['deconvnet', 'guided', 'saliency'].includes(q.get('srule')) ? q.get('srule') : def.rule;
  state.samples = num('samples') >= 1 && num('samples') <= ex.maxSamples ? num('samples') : def.samples;
  const noise = q.get('noise') ? Number(q.get('noise')) : NaN;
  state.noise = noise >= 0 && noise <= 1 ? noise : def.noise;
  state.steps = num('steps') >= 1 && num('steps') <= ex.maxSteps ? num('steps') : def.steps;
  state.baseline = ex.baselines.includes(q.get('baseline')) ? q.get('baseline') : def.baseline;
}

function writeURL() {
  const q = new URLSearchParams();
  if (state.image) q.set('image', state.image);
  if (state.layer) q.set('layer', state.layer);
  if (state.unit >= 0) q.set('unit', state.unit);
  if (state.unit >= 0 && state.y >= 0) { q.set('y', state.y); q.set('x', state.x); }
  if (state.rule !== 'deconvnet') q.set('rule', state.rule);
  if (state.lrn) q.set('lrn', '1');
  if (state.sort) q.set('sort', '1');
  if (state.all) q.set('all', '1');
  const def = model.explain.defaults;
  if (state.explain) q.set('explain', state.explain);
  if (state.cls >= 0) q.set('class', state.cls);
  if (state.camlayer !== def.layer) q.set('camlayer', state.camlayer);
  if (state.srule !== def.rule) q.set('srule', state.srule);
  if (state.samples !== def.samples) q.set('samples', state.samples);
  if (state.noise !== def.noise) q.set('noise', state.noise);
  if (state.steps !== def.steps) q.set('steps', state.steps);
  if (state.baseline !== def.baseline) q.set('baseline', state.baseline);
  const url = location.pathname + '?' + q.toString();
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

function unitQuery(extra) {
  const q = new URLSearchParams({ image: state.image, layer: state.layer, unit: state.unit, rule: state.rule });
  if (state.lrn) q.set('lrn', '1');
  if (state.y >= 0) { q.set('y', state.y); q.set('x', state.x); }
  for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
  return q;
}

// getJSON fetches an API answer; a newer request of the same kind aborts
// the older one, whose promise then resolves to null.
async function getJSON(kind, url, opts) {
  if (controllers[kind]) controllers[kind].abort();
  const c = new AbortController();
  controllers[kind] = c;
  try {
    const resp = await fetch(url, Object.assign({ signal: c.signal }, opts || {}));
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    return body;
  } catch (e) {
    if (e.name === 'AbortError') return null;
    throw e;
  } finally {
    if (controllers[kind] === c) delete controllers[kind];
  }
}

// streamJSON reads newline-delimited JSON, calling onLine for each object.
async function streamJSON(kind, url, onLine) {
  if (controllers[kind]) controllers[kind].abort();
  const c = new AbortController();
  controllers[kind] = c;
  try {
    const resp = await fetch(url, { signal: c.signal });
    if (!resp.ok) {
      let msg = resp.statusText;
      try { msg = (await resp.json()).error || msg; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) {
          const obj = JSON.parse(line);
          if (obj.error) throw new Error(obj.error);
          onLine(obj);
        }
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') return false;
    throw e;
  } finally {
    if (controllers[kind] === c) delete controllers[kind];
  }
  return true;
}

// ---- inputs ----

async function loadThumbs() {
  const box = $('thumbs');
  box.textContent = '';
  for (const u of uploads) box.appendChild(thumb(u.id, 'upload: ' + u.name));
  if (!model.inputs) {
    $('range').textContent = 'no picture set: upload one';
    return;
  }
  const list = await getJSON('thumbs', `/api/inputs?offset=${offset}&limit=${PAGE}`);
  if (!list) return;
  $('range').textContent = `${offset}-${offset + list.items.length - 1} of ${list.total}`;
  for (const it of list.items) box.appendChild(thumb(it.id, it.name));
  markCurrent();
}

function thumb(id, name) {
  const img = document.createElement('img');
  img.src = '/api/thumb?image=' + encodeURIComponent(id);
  img.alt = name;
  img.title = name;
  img.dataset.id = id;
  img.addEventListener('click', () => selectImage(id));
  return img;
}

function markCurrent() {
  for (const img of $('thumbs').querySelectorAll('img')) img.classList.toggle('current', img.dataset.id === state.image);
}

async function upload(file) {
  $('upload-error').textContent = '';
  if (file.size > model.maxUploadBytes) {
    $('upload-error').textContent = `${file.name} is ${(file.size / 1048576).toFixed(1)} MiB; the server takes at most ${(model.maxUploadBytes / 1048576).toFixed(0)} MiB`;
    return;
  }
  const form = new FormData();
  form.append('file', file, file.name);
  status('uploading ' + file.name + '...');
  try {
    const res = await getJSON('upload', '/api/upload', { method: 'POST', body: form });
    if (!res) return;
    uploads.unshift({ id: res.id, name: res.name });
    await loadThumbs();
    await selectImage(res.id);
  } catch (e) {
    $('upload-error').textContent = e.message;
    status('');
  }
}

// ---- the view ----

async function selectImage(id) {
  state.image = id;
  writeURL();
  markCurrent();
  $('input-img').src = '/api/input?image=' + encodeURIComponent(id);
  $('proj-input').src = $('input-img').src;
  $('explain-input').src = $('input-img').src;
  $('top9').textContent = '';
  $('occ').textContent = '';
  await Promise.all([predict(), loadFeatures(), explain()]);
}

async function predict() {
  try {
    const p = await getJSON('predict', '/api/predict?image=' + encodeURIComponent(state.image));
    if (!p) return;
    $('input-name').textContent = p.name;
    const ol = $('top5');
    ol.textContent = '';
    predicted = p.top.length ? p.top[0] : null;
    for (const t of p.top) {
      const li = document.createElement('li');
      li.textContent = `${t.name} ${(100 * t.prob).toFixed(1)}%`;
      li.dataset.class = t.class;
      li.dataset.name = t.name;
      li.title = 'explain this class';
      li.addEventListener('click', () => chooseClass(t.class));
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = Math.max(1, Math.round(120 * t.prob)) + 'px';
      li.appendChild(bar);
      ol.appendChild(li);
    }
    $('truth').textContent = p.label ? `true class: ${p.label.name} (${(100 * p.label.prob).toFixed(1)}%)` : '';
    markChosen();
  } catch (e) {
    status('prediction: ' + e.message);
  }
}

async function loadFeatures() {
  if (!state.image) return;
  const t0 = performance.now();
  let f;
  try {
    f = await getJSON('features', `/api/features?image=${encodeURIComponent(state.image)}&layer=${encodeURIComponent(state.layer)}`);
  } catch (e) {
    status('feature maps: ' + e.message);
    return;
  }
  if (!f) return;
  const img = new Image();
  img.src = f.sprite;
  await img.decode();
  features = f;
  sprite = img;
  const li = model.layers.find((l) => l.name === f.layer);
  $('layer-info').textContent = `${li.kind}: ${f.maps} maps of ${f.h}x${f.w}, activations ${f.lo.toPrecision(3)} to ${f.hi.toPrecision(3)}`;
  drawTiles();
  status(`feature maps in ${Math.round(performance.now() - t0)} ms`);
  if (state.unit >= f.maps) state.unit = -1;
  if (state.unit >= 0) await project();
  else $('unit').hidden = true;
}

function drawTiles() {
  const f = features;
  if (!f) return;
  order = [...Array(f.maps).keys()];
  if (state.sort) order.sort((a, b) => f.max[b] - f.max[a] || a - b);
  const side = Math.max(f.h, f.w);
  const target = f.maps <= 16 ? 96 : f.maps <= 64 ? 64 : f.maps <= 256 ? 40 : side === 1 ? 10 : 28;
  const scale = Math.max(1, Math.round(target / side));
  const gap = side === 1 ? 1 : 3;
  const tw = f.w * scale, th = f.h * scale;
  const width = Math.max(200, Math.min(900, $('view').clientWidth || 900));
  const cols = Math.max(1, Math.floor((width + gap) / (tw + gap)));
  const rows = Math.ceil(f.maps / cols);
  const cv = $('tiles');
  cv.width = cols * (tw + gap) - gap;
  cv.height = rows * (th + gap) - gap;
  layout = { cols, tw, th, gap, scale };
  const ctx = cv.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#282828';
  ctx.fillRect(0, 0, cv.width, cv.height);
  order.forEach((m, i) => {
    const sx = (m % f.cols) * f.w, sy = Math.floor(m / f.cols) * f.h;
    const dx = (i % cols) * (tw + gap), dy = Math.floor(i / cols) * (th + gap);
    ctx.drawImage(sprite, sx, sy, f.w, f.h, dx, dy, tw, th);
  });
  if (state.unit >= 0 && state.unit < f.maps) {
    const i = order.indexOf(state.unit);
    const dx = (i % cols) * (tw + gap), dy = Math.floor(i / cols) * (th + gap);
    ctx.strokeStyle = '#ff2828';
    ctx.lineWidth = 2;
    ctx.strokeRect(dx + 1, dy + 1, tw - 2, th - 2);
    if (state.y >= 0 && side > 1) {
      ctx.strokeStyle = '#ffd000';
      ctx.strokeRect(dx + state.x * scale, dy + state.y * scale, scale, scale);
    }
  }
}

function tileAt(ev) {
  const cv = $('tiles');
  const r = cv.getBoundingClientRect();
  const px = (ev.clientX - r.left) * (cv.width / r.width);
  const py = (ev.clientY - r.top) * (cv.height / r.height);
  const { cols, tw, th, gap, scale } = layout;
  const c = Math.floor(px / (tw + gap)), row = Math.floor(py / (th + gap));
  const i = row * cols + c;
  if (c >= cols || i < 0 || i >= order.length) return null;
  const y = Math.floor((py - row * (th + gap)) / scale), x = Math.floor((px - c * (tw + gap)) / scale);
  if (y < 0 || x < 0 || y >= features.h || x >= features.w) return null;
  return { unit: order[i], y, x };
}

async function project() {
  const li = model.layers.find((l) => l.name === state.layer);
  $('unit').hidden = false;
  const where = state.y >= 0 && (features && features.h * features.w > 1) ? `at (${state.y}, ${state.x})` : 'strongest position';
  $('unit-title').textContent = `${state.layer}, ${li.h * li.w > 1 ? 'map' : 'unit'} ${state.unit}, ${where}`;
  $('map-filter-fig').hidden = !li.conv;
  if (li.conv) $('map-filter').src = `/api/filters?layer=${encodeURIComponent(state.layer)}&unit=${state.unit}`;
  const t0 = performance.now();
  let p;
  try {
    p = await getJSON('project', '/api/project?' + unitQuery());
  } catch (e) {
    $('proj-caption').textContent = e.message;
    $('projection').removeAttribute('src');
    return;
  }
  if (!p) return;
  $('projection').src = p.projection;
  $('projection').dataset.rule = p.rule;
  $('proj-caption').textContent = `${p.rule}${p.lrn ? ' through LRN' : ''}: activation ${p.value.toPrecision(3)} at (${p.y}, ${p.x}); server ${p.ms} ms` +
    (p.peak === 0 ? '. The unit does not fire here, so there is nothing to project: click a bright spot, or "strongest".' : '');
  for (const id of ['proj-field']) {
    const box = $(id);
    const s = 224 / Math.max(p.w, p.h);
    box.style.left = (p.field.x0 * s) + 'px';
    box.style.top = (p.field.y0 * s) + 'px';
    box.style.width = ((p.field.x1 - p.field.x0) * s) + 'px';
    box.style.height = ((p.field.y1 - p.field.y0) * s) + 'px';
    box.hidden = false;
  }
  status(`projection in ${Math.round(performance.now() - t0)} ms (server ${p.ms} ms)`);
  const others = $('others');
  others.textContent = '';
  if (state.all) {
    for (const rule of model.rules.filter((r) => r !== state.rule)) {
      const q = unitQuery({ rule });
      try {
        const o = await getJSON('project-' + rule, '/api/project?' + q);
        if (!o) continue;
        const fig = document.createElement('figure');
        const img = document.createElement('img');
        img.className = 'pix';
        img.src = o.projection;
        img.alt = rule;
        const cap = document.createElement('figcaption');
        cap.textContent = rule;
        fig.append(img, cap);
        others.appendChild(fig);
      } catch (e) { /* shown on its own click */ }
    }
  }
}

// ---- explain a class: Grad-CAM, Guided Grad-CAM, SmoothGrad, integrated gradients ----

let predicted = null; // the top class of the latest prediction

function chooseClass(c) {
  state.cls = c;
  writeURL();
  markChosen();
  explain();
}

// markChosen marks the explained class among the top 5 and says which it is.
function markChosen() {
  let name = '';
  for (const li of $('top5').querySelectorAll('li')) {
    const on = state.cls >= 0 ? parseInt(li.dataset.class, 10) === state.cls : li === $('top5').firstElementChild;
    li.classList.toggle('chosen', on && state.explain !== '');
    if (on) name = li.dataset.name;
  }
  if (state.cls >= 0) $('explain-class').textContent = `class ${name || state.cls}`;
  else $('explain-class').textContent = predicted ? `predicted class ${predicted.name}` : 'predicted class';
  $('explain-predicted').hidden = state.cls < 0;
}

// showOptions shows the controls of the chosen method only.
function showOptions() {
  for (const el of document.querySelectorAll('#explain .opt')) el.hidden = !el.dataset.methods.split(' ').includes(state.explain);
  for (const r of document.querySelectorAll('input[name=explain]')) r.checked = r.value === state.explain;
  $('cam-layer').value = state.camlayer;
  $('sg-rule').value = state.srule;
  $('samples').value = state.samples;
  $('noise').value = state.noise;
  $('steps').value = state.steps;
  $('baseline').value = state.baseline;
}

function explainQuery() {
  const q = new URLSearchParams({ image: state.image, method: state.explain });
  if (state.cls >= 0) q.set('class', state.cls);
  if (state.explain === 'gradcam' || state.explain === 'guided-gradcam') q.set('layer', state.camlayer);
  if (state.explain === 'smoothgrad') {
    q.set('rule', state.srule);
    q.set('samples', state.samples);
    q.set('noise', state.noise);
  }
  if (state.explain === 'integrated-gradients') {
    q.set('baseline', state.baseline);
    q.set('steps', state.steps);
  }
  return q;
}

async function explain() {
  showOptions();
  markChosen();
  $('explain-error').textContent = '';
  if (!state.explain || !state.image) {
    $('explain-view').hidden = true;
    $('explain-caption').textContent = '';
    return;
  }
  const t0 = performance.now();
  $('explain-status').textContent = 'computing...';
  $('explain-cancel').hidden = false;
  $('explain-panels').classList.add('stale');
  let r = null;
  const q = explainQuery();
  q.set('stream', '1');
  try {
    const finished = await streamJSON('explain', '/api/explain?' + q, (line) => {
      if (line.result) r = line.result;
      else if (line.progress) $('explain-status').textContent = `computing: ${line.progress.stage} ${line.progress.done} / ${line.progress.total}`;
    });
    if (!finished) return; // a newer request (or cancel) took over
  } catch (e) {
    $('explain-error').textContent = e.message;
    $('explain-status').textContent = '';
    $('explain-cancel').hidden = true;
    return;
  }
  $('explain-cancel').hidden = true;
  if (!r) return;
  $('explain-status').textContent = `${Math.round(performance.now() - t0)} ms (server ${r.ms} ms)`;
  const box = $('explain-panels');
  box.textContent = '';
  box.classList.remove('stale');
  for (const p of r.panels) {
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.className = 'pix big';
    img.src = p.image;
    img.alt = p.title;
    img.dataset.method = r.method;
    const cap = document.createElement('figcaption');
    cap.textContent = p.title;
    fig.append(img, cap);
    box.appendChild(fig);
  }
  $('explain-view').hidden = false;
  const of = r.class.class === r.predicted.class ? 'the predicted class' : `predicted: ${r.predicted.name}`;
  $('explain-caption').textContent = `${r.class.name} (${(100 * r.class.prob).toFixed(1)}%, ${of}). ${r.caption}.`;
  $('explain-class').textContent = (state.cls < 0 ? 'predicted class ' : 'class ') + r.class.name;
}

function wireExplain() {
  for (const r of document.querySelectorAll('input[name=explain]')) {
    r.addEventListener('change', () => { state.explain = r.value; writeURL(); explain(); });
  }
  const ex = model.explain;
  const changed = () => {
    state.camlayer = $('cam-layer').value;
    state.srule = $('sg-rule').value;
    const int = (el, lo, hi, def) => { const v = Number(el.value); return Number.isInteger(v) && v >= lo && v <= hi ? v : def; };
    state.samples = int($('samples'), 1, ex.maxSamples, state.samples);
    state.steps = int($('steps'), 1, ex.maxSteps, state.steps);
    const noise = Number($('noise').value);
    if ($('noise').value !== '' && noise >= 0 && noise <= 1) state.noise = noise;
    state.baseline = $('baseline').value;
    writeURL();
    explain();
  };
  for (const id of ['cam-layer', 'sg-rule', 'samples', 'noise', 'steps', 'baseline']) $(id).addEventListener('change', changed);
  $('explain-predicted').addEventListener('click', () => chooseClass(-1));
  $('explain-cancel').addEventListener('click', () => {
    if (controllers.explain) controllers.explain.abort();
    $('explain-cancel').hidden = true;
    $('explain-status').textContent = 'cancelled';
  });
}

// ---- long requests: top-9 and occlusion, with progress ----

function showProgress(on) {
  $('progress').hidden = !on;
  $('cancel-btn').hidden = !on;
  if (!on) $('progress-text').textContent = '';
}

function onProgress(line) {
  if (!line.progress) return;
  const p = line.progress;
  $('progress').max = Math.max(1, p.total);
  $('progress').value = p.done;
  $('progress-text').textContent = `${p.stage}: ${p.done} / ${p.total}`;
}

async function runJob(kind, url, render) {
  $('job-error').textContent = '';
  showProgress(true);
  try {
    await streamJSON(kind, url, (line) => (line.result ? render(line.result) : onProgress(line)));
  } catch (e) {
    $('job-error').textContent = e.message;
  } finally {
    showProgress(false);
  }
}

function top9() {
  const box = $('top9');
  box.textContent = '';
  return runJob('top9', '/api/top9?' + unitQuery(), (r) => {
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.src = r.figure;
    img.alt = `top-9 of ${r.layer} map ${r.unit}`;
    img.className = 'pix';
    const cap = document.createElement('figcaption');
    cap.textContent = `${r.layer} map ${r.unit}: its 9 strongest activations over ${r.images} images${r.index ? ` (from the activation index of ${r.index})` : ' (searched on demand)'}, ${r.rule} projections, then the input patches. Open: `;
    cap.className = 'hits';
    for (const h of r.hits) {
      const a = document.createElement('a');
      a.href = '#';
      a.textContent = (h.id || 'training image') + (h.label ? ` (${h.label})` : '');
      if (!h.id) { cap.append(a.textContent + ' '); continue; }
      a.addEventListener('click', (ev) => { ev.preventDefault(); selectImage(h.id); });
      cap.appendChild(a);
    }
    fig.append(img, cap);
    box.appendChild(fig);
  });
}

function occlusion() {
  const box = $('occ');
  box.textContent = '';
  return runJob('occlusion', '/api/occlusion?' + unitQuery(), (r) => {
    for (const [src, text] of [[r.activationMap, `total activation of ${r.layer} map ${r.unit} (${r.minActivation.toPrecision(3)} to ${r.maxActivation.toPrecision(3)}; unoccluded ${r.cleanActivation.toPrecision(3)})`],
      [r.probabilityMap, `probability of ${r.class.name} (unoccluded ${(100 * r.class.prob).toFixed(1)}%, lowest ${(100 * r.minProb).toFixed(1)}%)`]]) {
      const fig = document.createElement('figure');
      const img = document.createElement('img');
      img.src = src;
      img.alt = text;
      const cap = document.createElement('figcaption');
      cap.textContent = `${text}; gray square ${r.size} px every ${r.stride} px, ${r.ms} ms`;
      fig.append(img, cap);
      box.appendChild(fig);
    }
  });
}

// ---- wiring ----

function wire() {
  $('layer').addEventListener('change', () => {
    state.layer = $('layer').value;
    state.unit = -1; state.y = -1; state.x = -1;
    writeURL();
    $('top9').textContent = '';
    $('occ').textContent = '';
    loadFeatures();
  });
  $('tiles').addEventListener('mousemove', (ev) => {
    if (!layout) return;
    const t = tileAt(ev);
    const flat = features.h * features.w === 1;
    $('tiles').title = t ? `${flat ? 'unit' : 'map'} ${t.unit}${flat ? '' : ` at (${t.y}, ${t.x})`}: strongest ${features.max[t.unit].toPrecision(3)}` : '';
  });
  $('sorted').addEventListener('change', () => { state.sort = $('sorted').checked; writeURL(); drawTiles(); });
  $('tiles').addEventListener('click', (ev) => {
    if (!layout) return;
    const t = tileAt(ev);
    if (!t) return;
    const flat = features.h * features.w === 1;
    state.unit = t.unit;
    state.y = flat ? -1 : t.y;
    state.x = flat ? -1 : t.x;
    writeURL();
    drawTiles();
    $('top9').textContent = '';
    $('occ').textContent = '';
    project();
  });
  for (const r of document.querySelectorAll('input[name=rule]')) {
    r.addEventListener('change', () => { state.rule = r.value; writeURL(); if (state.unit >= 0) project(); });
  }
  $('lrn').addEventListener('change', () => { state.lrn = $('lrn').checked; writeURL(); if (state.unit >= 0) project(); });
  $('all-rules').addEventListener('change', () => { state.all = $('all-rules').checked; writeURL(); if (state.unit >= 0) project(); });
  $('strongest-btn').addEventListener('click', () => {
    state.y = -1; state.x = -1;
    writeURL();
    drawTiles();
    project();
  });
  $('top9-btn').addEventListener('click', top9);
  $('occ-btn').addEventListener('click', occlusion);
  $('cancel-btn').addEventListener('click', () => {
    for (const k of ['top9', 'occlusion']) if (controllers[k]) controllers[k].abort();
  });
  $('prev').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); loadThumbs(); });
  $('next').addEventListener('click', () => { if (offset + PAGE < model.inputs) { offset += PAGE; loadThumbs(); } });
  $('file').addEventListener('change', () => { if ($('file').files.length) upload($('file').files[0]); });
  const drop = $('drop');
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer.files.length) upload(ev.dataTransfer.files[0]);
  });
  window.addEventListener('resize', drawTiles);
  wireExplain();
}

async function main() {
  try {
    model = await getJSON('model', '/api/model');
  } catch (e) {
    status('cannot reach the server: ' + e.message);
    return;
  }
  readURL();
  const sel = $('layer');
  for (const l of model.layers) {
    const o = document.createElement('option');
    o.value = l.name;
    o.textContent = `${l.name} (${l.maps}${l.h * l.w > 1 ? ` x ${l.h}x${l.w}` : ''})`;
    sel.appendChild(o);
  }
  if (!model.layers.some((l) => l.name === state.layer)) state.layer = model.defaultLayer;
  sel.value = state.layer;
  $('sorted').checked = state.sort;
  $('all-rules').checked = state.all;
  $('lrn').checked = state.lrn;
  $('lrn-label').hidden = !model.hasLRN || !model.lrnProjectable;
  for (const r of document.querySelectorAll('input[name=rule]')) r.checked = r.value === state.rule;
  for (const l of model.explain.layers) {
    const o = document.createElement('option');
    o.value = l;
    o.textContent = l + (l === model.explain.defaults.layer ? ' (last convolution)' : '');
    $('cam-layer').appendChild(o);
  }
  for (const b of model.explain.baselines) {
    const o = document.createElement('option');
    o.value = b;
    o.textContent = b;
    $('baseline').appendChild(o);
  }
  $('samples').max = model.explain.maxSamples;
  $('steps').max = model.explain.maxSteps;
  showOptions();
  if (model.firstConv) $('filters').src = '/api/filters?layer=' + encodeURIComponent(model.firstConv);
  if (!model.indexImages && !model.index) $('top9-btn').hidden = true;
  wire();
  if (!state.image && model.inputs) state.image = 'd0';
  const m = /^d(\d+)$/.exec(state.image);
  if (m) offset = Math.floor(parseInt(m[1], 10) / PAGE) * PAGE;
  await loadThumbs();
  if (state.image) await selectImage(state.image);
  document.body.dataset.ready = '1';
}

main();

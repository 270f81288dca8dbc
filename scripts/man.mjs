// Makes man pages (roff, section 1) from docs/commands/*.md, at build time:
//   node scripts/man.mjs [--out DIR] [--docdir DIR] [FILE.md...]
// DIR defaults to dist/man, the files to every docs/commands/*.md. Each FILE.md becomes FILE.1;
// the other command names in its title ("# img-login, img-logout, and credentials") get a page
// that sources it (`.so man1/img-login.1`). Plain Node, no dependencies: the Markdown the docs use
// (headings, paragraphs, lists, fenced code, GFM tables, code spans, emphasis, links) is read here.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// roff escapes for characters that are special or render as something else (groff_char(7)).
const ESCAPES = { '\\': '\\e', '-': '\\-', "'": '\\(aq', '`': '\\(ga', '^': '\\(ha', '~': '\\(ti' };

/** roffEscape escapes text for a roff text line: backslashes, hyphens as \-, quotes, non-ASCII as \[uXXXX]. */
export function roffEscape(s) {
  return s.replace(/[\\\-'`^~]|[^\x00-\x7f]/gu, (c) => ESCAPES[c] ?? `\\[u${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** escapeWords is roffEscape, with break points (\\:) after the slashes, colons and commas of words longer than NARROW when `breakable`. */
function escapeWords(s, breakable) {
  if (!breakable) return roffEscape(s);
  return s
    .split(/(\s+)/)
    .map((w) =>
      w.length > NARROW ? w.replace(/[^/:,|]*[/:,|]?/g, (part) => (part === '' ? '' : roffEscape(part) + (/[/:,|]$/.test(part) ? '\\:' : ''))) : roffEscape(w),
    )
    .join('');
}

/** textLine makes `s` safe as a roff input line: one that starts with . or ' would be a request. */
const textLine = (s) => (/^[.']/.test(s) ? `\\&${s}` : s);

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const ITEM = /^(\s{0,3})([-*+]|\d{1,9}[.)])(\s+|$)(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
const blank = (l) => /^\s*$/.test(l);

/** splitRow splits a GFM table row on its unescaped pipes; `\|` in a cell is a pipe. */
function splitRow(line) {
  const cells = line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/);
  return cells.map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** startsBlock says whether `line` begins a block that ends a paragraph. */
function startsBlock(line) {
  if (FENCE.test(line) || HEADING.test(line) || /^\s*>/.test(line)) return true;
  const m = ITEM.exec(line);
  return m !== null && m[4] !== '' && (/^[-*+]$/.test(m[2]) || /^1[.)]$/.test(m[2]));
}

/**
 * parseBlocks reads Markdown lines into blocks: heading {level, text}, para {text}, code {lines,
 * lang}, list {ordered, items: blocks[]}, table {rows: cells[][]} (the first row the header),
 * quote {blocks}.
 */
export function parseBlocks(lines) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (blank(line)) {
      i++;
    } else if ((m = FENCE.exec(line))) {
      const indent = m[1].length;
      const close = new RegExp(`^\\s*${m[2][0] === '`' ? '`' : '~'}{${m[2].length},}\\s*$`);
      const body = [];
      for (i++; i < lines.length && !close.test(lines[i]); i++) body.push(lines[i].replace(new RegExp(`^ {0,${indent}}`), ''));
      i++;
      blocks.push({ type: 'code', lang: m[3], lines: body });
    } else if ((m = HEADING.exec(line))) {
      blocks.push({ type: 'heading', level: m[1].length, text: m[2] });
      i++;
    } else if (/^\s*<!--/.test(line)) {
      while (i < lines.length && !lines[i].includes('-->')) i++;
      i++;
    } else if (/^\s*\|/.test(line) && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      const rows = [splitRow(line)];
      for (i += 2; i < lines.length && /^\s*\|/.test(lines[i]); i++) rows.push(splitRow(lines[i]));
      blocks.push({ type: 'table', rows });
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      i++;
    } else if (/^\s*>/.test(line)) {
      const body = [];
      for (; i < lines.length && /^\s*>/.test(lines[i]); i++) body.push(lines[i].replace(/^\s*> ?/, ''));
      blocks.push({ type: 'quote', blocks: parseBlocks(body) });
    } else if ((m = ITEM.exec(line))) {
      const ordered = /\d/.test(m[2]);
      const items = [];
      while (i < lines.length && (m = ITEM.exec(lines[i])) && /\d/.test(m[2]) === ordered) {
        const width = m[1].length + m[2].length + Math.min(Math.max(m[3].length, 1), 4);
        const body = [m[4]];
        for (i++; i < lines.length; i++) {
          const l = lines[i];
          if (blank(l)) {
            let j = i;
            while (j < lines.length && blank(lines[j])) j++;
            if (j < lines.length && /^\s{2,}/.test(lines[j]) && !ITEM.test(lines[j])) {
              for (; i < j; i++) body.push('');
              i--;
              continue;
            }
            break;
          }
          if (ITEM.test(l) && l.search(/\S/) < width) break;
          if (l.search(/\S/) < width && startsBlock(l)) break;
          body.push(l.replace(new RegExp(`^ {0,${width}}`), ''));
        }
        items.push(parseBlocks(body));
        const next = lines.slice(i).findIndex((l) => !blank(l));
        if (next < 0 || !ITEM.test(lines[i + next])) break;
        i += next;
      }
      blocks.push({ type: 'list', ordered, items });
    } else {
      const body = [line];
      for (i++; i < lines.length && !blank(lines[i]) && !startsBlock(lines[i]); i++) body.push(lines[i]);
      blocks.push({ type: 'para', text: body.map((l) => l.trim()).join(' ') });
    }
  }
  return blocks;
}

/** findClose finds the `]` that closes the `[` at `open`, or -1. */
function findClose(s, open) {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '`') {
      const run = /^`+/.exec(s.slice(i))[0];
      const end = s.indexOf(run, i + run.length);
      if (end >= 0) i = end + run.length - 1;
    } else if (s[i] === '[') depth++;
    else if (s[i] === ']' && --depth === 0) return i;
  }
  return -1;
}

/** parenEnd finds the `)` that closes the `(` at `open` (nested pairs allowed), or -1. */
function parenEnd(s, open) {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
    else if (/\s/.test(s[i])) return -1;
  }
  return -1;
}

/**
 * parseInline reads Markdown inline text into nodes: text {text}, code {text}, strong {nodes},
 * em {nodes}, link {nodes, url}.
 */
export function parseInline(s) {
  const nodes = [];
  let text = '';
  const flush = () => {
    if (text !== '') nodes.push({ type: 'text', text });
    text = '';
  };
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    const rest = s.slice(i);
    let m;
    if (c === '\\' && i + 1 < s.length && /[!-/:-@[-`{-~]/.test(s[i + 1])) {
      text += s[i + 1];
      i += 2;
    } else if (c === '`') {
      const run = /^`+/.exec(rest)[0];
      const end = s.indexOf(run, i + run.length);
      if (end < 0 || s[end + run.length] === '`') {
        text += run;
        i += run.length;
        continue;
      }
      flush();
      let code = s.slice(i + run.length, end);
      if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
      nodes.push({ type: 'code', text: code });
      i = end + run.length;
    } else if (c === '[' && (m = findClose(s, i)) > 0 && s[m + 1] === '(' && parenEnd(s, m + 1) > 0) {
      const close = parenEnd(s, m + 1);
      flush();
      nodes.push({ type: 'link', nodes: parseInline(s.slice(i + 1, m)), url: s.slice(m + 2, close).trim() });
      i = close + 1;
    } else if (c === '<' && (m = /^<((?:https?|mailto):[^\s<>]+)>/.exec(rest))) {
      flush();
      nodes.push({ type: 'link', nodes: [{ type: 'text', text: m[1] }], url: m[1] });
      i += m[0].length;
    } else if ((m = /^(\*\*|__)(?=\S)([\s\S]*?\S)\1/.exec(rest)) && (c === '*' || !/\w/.test(s[i - 1] ?? ''))) {
      flush();
      nodes.push({ type: 'strong', nodes: parseInline(m[2]) });
      i += m[0].length;
    } else if (
      (m = /^([*_])(?=[^\s*_])([\s\S]*?[^\s\\])\1(?!\1)/.exec(rest)) &&
      (c === '*' || (!/\w/.test(s[i - 1] ?? '') && !/\w/.test(s[i + m[0].length] ?? '')))
    ) {
      flush();
      nodes.push({ type: 'em', nodes: parseInline(m[2]) });
      i += m[0].length;
    } else {
      text += c;
      i++;
    }
  }
  flush();
  return nodes;
}

/** plain is the text of inline nodes without markup. */
export function plain(nodes) {
  return nodes.map((n) => (n.type === 'text' || n.type === 'code' ? n.text : plain(n.nodes))).join('');
}

/** PageContext: what rendering a page needs to resolve its links. */
class PageContext {
  /** @param {string} file the page's path, @param {Map<string,string>} pages absolute page path → man name, @param {string} root what doc paths are shown relative to */
  constructor(file, pages, root) {
    this.file = file;
    this.pages = pages;
    this.root = root;
    this.commands = new Set();
    this.docs = new Set();
  }

  /** target resolves a link: {kind: 'man', name} for a command page, {kind: 'doc', path} for a local file, {kind: 'url'}, {kind: 'anchor'}. */
  target(url) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return { kind: 'url' };
    const path = url.replace(/#.*$/, '');
    if (path === '') return { kind: 'anchor' };
    const resolved = resolve(dirname(this.file), path);
    const name = this.pages.get(resolved);
    if (name !== undefined) return { kind: 'man', name };
    return { kind: 'doc', path: relative(this.root, resolved) };
  }
}

const FONTS = { R: '\\fR', B: '\\fB', I: '\\fI', BI: '\\f(BI' };

/** renderInline turns inline nodes into roff in `font` (R, B, I or BI), recording what links name. */
function renderInline(nodes, ctx, font = 'R') {
  const inFont = (f, body) => `${FONTS[f]}${body}${FONTS[font]}`;
  const bold = font === 'I' || font === 'BI' ? 'BI' : 'B';
  const italic = font === 'B' || font === 'BI' ? 'BI' : 'I';
  return nodes
    .map((n) => {
      if (n.type === 'text') return escapeWords(n.text, ctx.breakable);
      if (n.type === 'code') return inFont(bold, escapeWords(n.text, ctx.breakable));
      if (n.type === 'strong') return inFont(bold, renderInline(n.nodes, ctx, bold));
      if (n.type === 'em') return inFont(italic, renderInline(n.nodes, ctx, italic));
      const t = ctx.target(n.url);
      const label = renderInline(n.nodes, ctx, font);
      if (t.kind === 'man' && t.name !== ctx.name) {
        ctx.commands.add(t.name);
        return plain(n.nodes) === t.name ? `${inFont(bold, roffEscape(t.name))}(1)` : label;
      }
      if (t.kind === 'doc') ctx.docs.add(t.path);
      if (t.kind === 'url' && plain(n.nodes) !== n.url) return `${label} <${roffEscape(n.url)}>`;
      return label;
    })
    .join('');
}

/**
 * renderBlocks turns blocks into roff lines. A block that starts a paragraph gets .PP (.IP inside
 * a list item), except right after a heading and as the first block of an item.
 */
function renderBlocks(blocks, ctx, out, inItem = false) {
  for (const [k, b] of blocks.entries()) {
    const start = () => {
      if (inItem ? k > 0 : !ctx.afterHeading) out.push(inItem ? '.IP' : '.PP');
    };
    if (b.type === 'heading') {
      // One line, as man pages write them; on the next line when a quote would need escaping there.
      const title = roffEscape(headingText(b.text, b.level));
      const macro = b.level <= 2 ? '.SH' : '.SS';
      out.push(...(title.includes('"') ? [macro, textLine(title)] : [`${macro} ${title}`]));
      ctx.afterHeading = true;
      continue;
    }
    if (b.type === 'para') {
      start();
      out.push(textLine(renderInline(parseInline(b.text), ctx)));
    } else if (b.type === 'code') {
      start();
      if (ctx.synopsis || inItem) out.push('.nf', ...codeLines(b), '.fi');
      else out.push('.RS 4', '.nf', ...codeLines(b), '.fi', '.RE');
    } else if (b.type === 'list') {
      if (inItem) out.push('.RS');
      for (const [n, item] of b.items.entries()) {
        out.push(b.ordered ? `.IP ${n + 1}. 4` : '.IP \\(bu 2');
        renderBlocks(item, ctx, out, true);
      }
      if (inItem) out.push('.RE');
    } else if (b.type === 'table') {
      if (inItem) out.push('.RS');
      renderTable(b.rows, ctx, out);
      if (inItem) out.push('.RE');
    } else if (b.type === 'quote') {
      start();
      out.push('.RS 4');
      ctx.afterHeading = true;
      renderBlocks(b.blocks, ctx, out, inItem);
      out.push('.RE');
    }
    ctx.afterHeading = false;
  }
}

/** codeLines turns a code block into no-fill lines: tabs expanded, console commands after `$ ` in bold. */
function codeLines(b) {
  return b.lines.map((l) => {
    const line = l.replace(/\t/g, '        ');
    if (/^(console|shell-session)$/.test(b.lang) && line.startsWith('$ ')) return textLine(`$ \\fB${roffEscape(line.slice(2))}\\fR`);
    return line === '' ? '' : textLine(roffEscape(line));
  });
}

/**
 * renderTable: a two-column table becomes a tagged list (.TP: the first cell the tag, the header
 * row as a bold first entry), as man pages list options; a wider one a tbl table: its narrow
 * columns as they are, the others as text blocks that wrap, with break points in long words.
 */
function renderTable(rows, ctx, out) {
  const width = Math.max(...rows.map((r) => r.length));
  // The header row in bold, the others as they are.
  const cell = (c, k) => (k === 0 ? `\\fB${renderInline(parseInline(c ?? ''), ctx, 'B')}\\fR` : renderInline(parseInline(c ?? ''), ctx));
  if (width <= 2) {
    for (const [k, r] of rows.entries()) out.push('.TP', textLine(cell(r[0], k)), textLine(cell(r[1], k)));
    return;
  }
  ctx.tables = true;
  const narrow = Array.from({ length: width }, (_, j) => Math.max(...rows.map((r) => plain(parseInline(r[j] ?? '')).length)) <= NARROW);
  out.push('.PP', '.TS', 'tab(\t);', `${narrow.map((n) => (n ? 'l' : 'lx')).join(' ')}.`);
  for (const [k, r] of rows.entries()) {
    const cells = narrow.map((n, j) => {
      if (n) return cell(r[j], k);
      ctx.breakable = true;
      const text = cell(r[j], k);
      ctx.breakable = false;
      return `T{\n${textLine(text)}\nT}`;
    });
    out.push(cells.join('\t'));
    if (k === 0) out.push('_');
  }
  out.push('.TE');
}

// Table columns no wider than this many characters are set as they are, the others wrap.
const NARROW = 24;

// Section names as man pages spell them.
const SECTION_NAMES = { flags: 'OPTIONS', options: 'OPTIONS' };

/** headingText is a heading's text for .SH (upper case, some renamed) or .SS. */
function headingText(text, level) {
  const t = plain(parseInline(text));
  return level <= 2 ? (SECTION_NAMES[t.toLowerCase()] ?? t.toUpperCase()) : t;
}

/** firstSentence is the first sentence of Markdown text (a period followed by a space, outside code spans and parentheses), without its period. */
function firstSentence(text) {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > 0) i = end;
    } else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '.' && depth === 0 && (i + 1 === text.length || text[i + 1] === ' ')) return text.slice(0, i);
  }
  return text.replace(/\.$/, '');
}

/**
 * summaryOf makes the NAME line's description from the page's first paragraph: its first sentence,
 * without a leading "NAME is"/"NAME"; one longer than a line is cut at its first colon or
 * semicolon, then loses its parentheses.
 */
export function summaryOf(para, names) {
  let s = plain(parseInline(firstSentence(para)))
    .replace(/\s+/g, ' ')
    .trim();
  for (const n of names) if (s.startsWith(`${n} `)) s = s.slice(n.length + 1).replace(/^is /, '');
  if (s.length > 72) {
    const cut = s.search(/[:;] /);
    if (cut > 0) s = s.slice(0, cut);
  }
  if (s.length > 72) s = s.replace(/ \([^()]*\)/g, '');
  return s;
}

/** pageNames: the file's own name, then the other command names its title lists. */
function pageNames(stem, title) {
  const words = plain(parseInline(title))
    .split(/,\s*|\s+and\s+|\s+/)
    .map((w) => w.trim());
  return [stem, ...words.filter((w) => w !== stem && /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/.test(w) && w.startsWith(stem.split('-')[0]))];
}

/**
 * renderPage turns one Markdown page into a man page: {name, aliases, roff}. The title gives
 * NAME's names, the first paragraph its description; "## Synopsis" (or a code block right under
 * the title) is SYNOPSIS; the rest of the text under the title and "## Description" make
 * DESCRIPTION; other sections follow in order ("Flags" as OPTIONS); SEE ALSO lists the command
 * pages and documents the page links to.
 */
export function renderPage(md, { file, pages, root, version, date, docdir }) {
  const stem = basename(file, '.md');
  const blocks = parseBlocks(md.replace(/\r\n?/g, '\n').split('\n'));
  const titleAt = blocks.findIndex((b) => b.type === 'heading' && b.level === 1);
  const title = titleAt >= 0 ? blocks[titleAt].text : stem;
  const body = titleAt >= 0 ? blocks.slice(titleAt + 1) : blocks;
  const names = pageNames(stem, title);
  const ctx = new PageContext(file, pages, root);
  ctx.name = stem;

  // The intro (before the first section), the synopsis and description sections, and the rest.
  let firstSection = body.findIndex((b) => b.type === 'heading' && b.level <= 2);
  if (firstSection < 0) firstSection = body.length;
  const intro = body.slice(0, firstSection);
  const sections = [];
  for (const [k, b] of body.entries()) {
    if (k < firstSection) continue;
    if (b.type === 'heading' && b.level <= 2) sections.push({ name: plain(parseInline(b.text)).toLowerCase(), heading: b, blocks: [] });
    else sections.at(-1).blocks.push(b);
  }
  const take = (name) => {
    const k = sections.findIndex((s) => s.name === name);
    return k < 0 ? undefined : sections.splice(k, 1)[0].blocks;
  };
  let synopsis = take('synopsis');
  if (synopsis === undefined && intro[0]?.type === 'code') synopsis = [intro.shift()];
  const firstPara = intro.find((b) => b.type === 'para') ?? body.find((b) => b.type === 'para');
  const summary = firstPara ? summaryOf(firstPara.text, names) : title;
  // A one-sentence first paragraph is the NAME line, not repeated in DESCRIPTION.
  if (firstPara && intro[0] === firstPara && firstSentence(firstPara.text).length >= firstPara.text.replace(/\.$/, '').length) intro.shift();
  const description = [...intro, ...(take('description') ?? [])];

  const out = [];
  out.push('.SH NAME', textLine(`${names.map(roffEscape).join(', ')} \\- ${roffEscape(summary)}`));
  if (synopsis) {
    out.push('.SH SYNOPSIS');
    ctx.afterHeading = true;
    ctx.synopsis = true;
    renderBlocks(synopsis, ctx, out);
    ctx.synopsis = false;
  }
  if (description.length > 0) {
    out.push('.SH DESCRIPTION');
    ctx.afterHeading = true;
    renderBlocks(description, ctx, out);
  }
  let seeAlso;
  for (const s of sections) {
    if (s.name === 'see also') {
      seeAlso = s;
      continue;
    }
    renderBlocks([s.heading, ...s.blocks], ctx, out);
  }
  const refs = [...ctx.commands].filter((n) => !names.includes(n)).sort();
  const docs = [...ctx.docs].sort();
  if (seeAlso || refs.length > 0 || docs.length > 0) {
    out.push('.SH SEE ALSO');
    ctx.afterHeading = true;
    if (seeAlso) renderBlocks(seeAlso.blocks, ctx, out);
    if (refs.length > 0) {
      if (!ctx.afterHeading) out.push('.PP');
      out.push(refs.map((n) => `\\fB${roffEscape(n)}\\fR(1)`).join(',\n'));
      ctx.afterHeading = false;
    }
    if (docs.length > 0) {
      if (!ctx.afterHeading) out.push('.PP');
      const where = docdir ? `in ${roffEscape(docdir)}` : 'in the imgpipe source tree';
      out.push(`The imgpipe documentation ${where}:`, docs.map((d) => `\\fI${roffEscape(d)}\\fR`).join(',\n'));
    }
  }
  const th = `.TH "${roffEscape(stem.toUpperCase())}" "1" "${date}" "imgpipe ${roffEscape(version)}" "imgpipe Manual"`;
  const head = [
    ...(ctx.tables ? ['\'\\" t'] : []),
    `.\\" Generated by scripts/man.mjs from ${relative(root, resolve(file))}: edit that file, not this one.`,
    th,
    '.nh',
    '.ad l',
  ];
  return { name: stem, aliases: names.slice(1), roff: `${[...head, ...out].join('\n')}\n` };
}

/** pageDate: SOURCE_DATE_EPOCH's date (reproducible builds), else the file's last commit's, else its mtime's. */
function pageDate(file) {
  const day = (d) => d.toISOString().slice(0, 10);
  if (process.env.SOURCE_DATE_EPOCH) return day(new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000));
  try {
    const d = execFileSync('git', ['log', '-1', '--format=%cs', '--', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (/^\d{4}-\d\d-\d\d$/.test(d)) return d;
  } catch {}
  return day(statSync(file).mtime);
}

/** generate writes the man pages of `files` into `out` (replacing its *.1) and returns their names; doc paths are shown relative to `root`. */
export function generate({ files, out, root, docdir, version }) {
  const pages = new Map(files.map((f) => [resolve(f), basename(f, '.md')]));
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (f.endsWith('.1')) rmSync(join(out, f));
  const written = [];
  for (const file of files) {
    const page = renderPage(readFileSync(file, 'utf8'), { file, pages, root, version, date: pageDate(file), docdir });
    writeFileSync(join(out, `${page.name}.1`), page.roff);
    written.push(page.name);
    for (const alias of page.aliases) {
      if (pages.has(resolve(dirname(file), `${alias}.md`))) continue;
      writeFileSync(join(out, `${alias}.1`), `.so man1/${page.name}.1\n`);
      written.push(alias);
    }
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const k = args.indexOf(name);
    return k < 0 ? fallback : args.splice(k, 2)[1];
  };
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const out = opt('--out', join(root, 'dist/man'));
  const docdir = opt('--docdir', undefined);
  const files =
    args.length > 0
      ? args
      : readdirSync(join(root, 'docs/commands'))
          .filter((f) => f.endsWith('.md'))
          .sort()
          .map((f) => relative(process.cwd(), join(root, 'docs/commands', f)));
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const written = generate({ files, out, root, docdir, version });
  process.stderr.write(`man pages: ${written.map((n) => `${n}.1`).join(' ')} in ${out}\n`);
}

/**
 * Go's text/template, as skopeo's `inspect --format` runs it: the lexer, parser and executor of Go
 * 1.19 (actions, {{- -}} trimming, comments, pipelines, variables, if/else if/else, range with
 * $i, $e, break and continue, with, block and template), its built-in functions (and, or, not,
 * len, index, slice, print, printf, println, html, js, urlquery, eq, ne, lt, le, gt, ge) and the
 * functions later skopeo adds from containers/common's report package (json, join, lower, upper,
 * title, split, truncate, pad). Values are typed (lib/image/govalue.ts), so a struct's unknown
 * field is an error and a map's missing key prints <no value>, as in Go. Errors carry Go's text.
 * Pure: no I/O.
 */
import {
  BOOL,
  FLOAT64,
  INT,
  STRING,
  UINT8,
  asArg,
  byteCompare,
  canBeNil,
  goLen,
  indirect,
  indirectInterface,
  isTrue,
  jsonEncode,
  mapKeys,
  sliceOf,
  sprint,
  sprintf,
  sprintln,
  str,
  val,
  zero,
  type FmtArg,
  type GoType,
  type TypedVal,
  type Val,
} from './govalue.js';

/** TemplateError is a parse or execution error; its message is Go's (template: NAME:LINE…). */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

// ---------------------------------------------------------------- lexer

type TokType =
  | 'text'
  | 'left'
  | 'right'
  | 'space'
  | 'field'
  | 'variable'
  | 'dot'
  | 'ident'
  | 'keyword'
  | 'string'
  | 'rawstring'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'declare'
  | 'assign'
  | 'punct'
  | 'eof';

interface Tok {
  typ: TokType;
  val: string;
  pos: number;
  line: number;
}

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && (c === '_' || /^[\p{L}\p{Nd}]$/u.test(c));
const goRune = (c: string | undefined) => (c === undefined ? 'EOF' : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} '${c}'`);

function lex(name: string, input: string): Tok[] {
  const toks: Tok[] = [];
  const newlines: number[] = [];
  for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (p: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const fail = (p: number, msg: string): never => {
    throw new TemplateError(`template: ${name}:${lineAt(p)}: ${msg}`);
  };
  const emit = (typ: TokType, start: number, end: number) => toks.push({ typ, val: input.slice(start, end), pos: start, line: lineAt(start) });
  const atRightDelim = (p: number): [boolean, boolean] => {
    if (isSpace(input[p]) && input[p + 1] === '-' && input.startsWith('}}', p + 2)) return [true, true];
    return [input.startsWith('}}', p), false];
  };
  const skipSpaces = (p: number) => {
    while (isSpace(input[p])) p++;
    return p;
  };
  const atTerminator = (p: number) => {
    const c = input[p];
    return c === undefined || isSpace(c) || '.,|:)(}'.includes(c);
  };
  let pos = 0;
  while (pos < input.length) {
    const x = input.indexOf('{{', pos);
    if (x < 0) {
      emit('text', pos, input.length);
      break;
    }
    const trimLeft = input[x + 2] === '-' && isSpace(input[x + 3]);
    let textEnd = x;
    if (trimLeft) while (textEnd > pos && isSpace(input[textEnd - 1])) textEnd--;
    if (textEnd > pos) emit('text', pos, textEnd);
    pos = x + 2 + (trimLeft ? 2 : 0);
    if (input.startsWith('/*', pos)) {
      const end = input.indexOf('*/', pos + 2);
      if (end < 0) fail(pos, 'unclosed comment');
      pos = end + 2;
      const [delim, trim] = atRightDelim(pos);
      if (!delim) fail(pos, 'comment ends before closing delimiter');
      pos += 2 + (trim ? 2 : 0);
      if (trim) pos = skipSpaces(pos);
      continue;
    }
    emit('left', x, x + 2);
    let parens = 0;
    for (;;) {
      const [delim, trim] = atRightDelim(pos);
      if (delim) {
        if (parens > 0) fail(pos, 'unclosed left paren');
        const at = pos + (trim ? 2 : 0);
        emit('right', at, at + 2);
        pos = at + 2;
        if (trim) pos = skipSpaces(pos);
        break;
      }
      const c = input[pos];
      const start = pos;
      if (c === undefined) return fail(pos, 'unclosed action');
      if (isSpace(c)) {
        let q = skipSpaces(pos);
        // a space before " -}}" belongs to the trim marker
        if (input[q] === '-' && input.startsWith('}}', q + 1)) q--;
        if (q > pos) emit('space', pos, q);
        pos = q;
        continue;
      }
      pos++;
      if (c === '=') emit('assign', start, pos);
      else if (c === ':') {
        if (input[pos] !== '=') fail(pos, 'expected :=');
        pos++;
        emit('declare', start, pos);
      } else if (c === '|') emit('pipe', start, pos);
      else if (c === '"') {
        for (;;) {
          const d = input[pos++];
          if (d === '\\' && input[pos] !== undefined && input[pos] !== '\n') pos++;
          else if (d === undefined || d === '\n') fail(start, 'unterminated quoted string');
          else if (d === '"') break;
        }
        emit('string', start, pos);
      } else if (c === '`') {
        const end = input.indexOf('`', pos);
        if (end < 0) fail(start, 'unterminated raw quoted string');
        pos = end + 1;
        emit('rawstring', start, pos);
      } else if (c === "'") {
        for (;;) {
          const d = input[pos++];
          if (d === '\\' && input[pos] !== undefined && input[pos] !== '\n') pos++;
          else if (d === undefined || d === '\n') fail(start, 'unterminated character constant');
          else if (d === "'") break;
        }
        emit('char', start, pos);
      } else if (c === '$' || (c === '.' && !/[0-9]/.test(input[pos] ?? ''))) {
        if (atTerminator(pos)) emit(c === '$' ? 'variable' : 'dot', start, pos);
        else {
          while (isAlnum(input[pos])) pos++;
          if (!atTerminator(pos)) fail(pos, `bad character ${goRune(input[pos])}`);
          emit(c === '$' ? 'variable' : 'field', start, pos);
        }
      } else if (c === '.' || c === '+' || c === '-' || /[0-9]/.test(c)) {
        pos = start;
        const m =
          /^[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]*)?|0[oO][0-7_]*|0[bB][01_]*|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]*)?)i?/.exec(
            input.slice(pos),
          )!;
        pos += m[0].length;
        if (isAlnum(input[pos])) fail(start, `bad number syntax: ${JSON.stringify(input.slice(start, pos + 1))}`);
        emit('number', start, pos);
      } else if (isAlnum(c)) {
        while (isAlnum(input[pos])) pos++;
        if (!atTerminator(pos)) fail(pos, `bad character ${goRune(input[pos])}`);
        const word = input.slice(start, pos);
        emit(KEYWORDS.has(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'ident', start, pos);
      } else if (c === '(') {
        parens++;
        emit('lparen', start, pos);
      } else if (c === ')') {
        parens--;
        if (parens < 0) fail(start, `unexpected right paren ${goRune(c)}`);
        emit('rparen', start, pos);
      } else if (c.charCodeAt(0) < 0x7f && c.charCodeAt(0) > 0x20) emit('punct', start, pos);
      else fail(start, `unrecognized character in action: ${goRune(c)}`);
    }
  }
  toks.push({ typ: 'eof', val: '', pos: input.length, line: lineAt(input.length) });
  return toks;
}

// ---------------------------------------------------------------- parse tree

interface Pipe {
  type: 'pipe';
  pos: number;
  isAssign: boolean;
  decl: string[];
  cmds: Cmd[];
}
interface Cmd {
  type: 'command';
  pos: number;
  args: Arg[];
}
type Arg =
  | { type: 'field'; pos: number; ident: string[] }
  | { type: 'variable'; pos: number; ident: string[] }
  | { type: 'dot'; pos: number }
  | { type: 'nil'; pos: number }
  | { type: 'bool'; pos: number; value: boolean }
  | { type: 'number'; pos: number; text: string; isInt: boolean; isFloat: boolean; int: number; float: number }
  | { type: 'string'; pos: number; quoted: string; text: string }
  | { type: 'identifier'; pos: number; name: string }
  | { type: 'chain'; pos: number; node: Arg | Pipe; field: string[] }
  | Pipe;
interface ControlNode {
  type: 'if' | 'with' | 'range';
  pos: number;
  pipe: Pipe;
  list: Node[];
  elseList?: Node[];
}
type Node =
  | { type: 'text'; pos: number; text: string }
  | { type: 'action'; pos: number; pipe: Pipe }
  | ControlNode
  | { type: 'break' | 'continue'; pos: number }
  | { type: 'template'; pos: number; name: string; pipe?: Pipe };
type AnyNode = Node | Arg | Cmd;

function nodeString(n: AnyNode): string {
  switch (n.type) {
    case 'field':
      return `.${n.ident.join('.')}`;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(n.value);
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'identifier':
      return n.name;
    case 'chain':
      return `${n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)}.${n.field.join('.')}`;
    case 'pipe':
      return (n.decl.length ? `${n.decl.join(', ')} ${n.isAssign ? '=' : ':='} ` : '') + n.cmds.map(nodeString).join(' | ');
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'text':
      return JSON.stringify(n.text);
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'if':
    case 'with':
    case 'range':
      return `{{${n.type} ${nodeString(n.pipe)}}}${n.list.map(nodeString).join('')}${n.elseList ? `{{else}}${n.elseList.map(nodeString).join('')}` : ''}{{end}}`;
    case 'break':
    case 'continue':
      return `{{${n.type}}}`;
    case 'template':
      return `{{template ${JSON.stringify(n.name)}${n.pipe ? ` ${nodeString(n.pipe)}` : ''}}}`;
  }
}

/** unquote is strconv.Unquote for Go's "…", `…` and '…' literals. */
function unquote(q: string): string {
  if (q[0] === '`') return q.slice(1, -1).replace(/\r/g, '');
  const body = q.slice(1, -1);
  const bytes: number[] = [];
  const push = (s: string) => bytes.push(...Buffer.from(s, 'utf8'));
  for (let i = 0; i < body.length; ) {
    const c = String.fromCodePoint(body.codePointAt(i)!);
    i += c.length;
    if (c !== '\\') {
      if (c === q[0]) throw new Error('invalid syntax');
      push(c);
      continue;
    }
    const e = body[i++];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
    if (e !== undefined && simple[e] !== undefined) push(simple[e]!);
    else if (e !== undefined && e === q[0]) push(e);
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i, i + 2))) {
      bytes.push(parseInt(body.slice(i, i + 2), 16));
      i += 2;
    } else if ((e === 'u' || e === 'U') && new RegExp(`^[0-9a-fA-F]{${e === 'u' ? 4 : 8}}$`).test(body.slice(i, i + (e === 'u' ? 4 : 8)))) {
      const n = e === 'u' ? 4 : 8;
      const cp = parseInt(body.slice(i, i + n), 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error('invalid syntax');
      push(String.fromCodePoint(cp));
      i += n;
    } else if (e !== undefined && /^[0-7]{3}$/.test(e + body.slice(i, i + 2)) && parseInt(e + body.slice(i, i + 2), 8) < 256) {
      bytes.push(parseInt(e + body.slice(i, i + 2), 8));
      i += 2;
    } else throw new Error('invalid syntax');
  }
  return Buffer.from(bytes).toString('utf8');
}

function parseNumber(text: string): { isInt: boolean; isFloat: boolean; int: number; float: number } | undefined {
  if (text.startsWith("'")) {
    const s = unquote(text);
    const cps = [...s];
    if (cps.length !== 1) return undefined;
    const cp = cps[0]!.codePointAt(0)!;
    return { isInt: true, isFloat: true, int: cp, float: cp };
  }
  const t = text.replace(/_/g, '');
  if (/i$/.test(t)) return undefined; // complex constants: not supported
  const neg = t.startsWith('-');
  const u = t.replace(/^[+-]/, '');
  let int: number | undefined;
  if (/^0[xX][0-9a-fA-F]+$/.test(u)) int = parseInt(u.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(u)) int = parseInt(u.slice(2), 8);
  else if (/^0[bB][01]+$/.test(u)) int = parseInt(u.slice(2), 2);
  else if (/^0[0-7]*$/.test(u)) int = parseInt(u || '0', 8);
  else if (/^[1-9][0-9]*$/.test(u)) int = Number(u);
  if (int !== undefined) {
    const n = neg ? -int : int;
    return { isInt: true, isFloat: true, int: n, float: n };
  }
  if (/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(u)) {
    const f = (neg ? -1 : 1) * Number(u);
    return { isInt: Number.isInteger(f), isFloat: true, int: f, float: f };
  }
  return undefined;
}

/** A parsed template: the main list and the named templates its {{block}}s define. */
export interface Template {
  name: string;
  text: string;
  root: Node[];
  templates: Map<string, Node[]>;
  funcs: Record<string, GoFunc>;
}

class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  readonly templates = new Map<string, Node[]>();

  constructor(
    private name: string,
    private toks: Tok[],
    private funcs: Record<string, GoFunc>,
  ) {}

  private fail(msg: string, tok: Tok = this.toks[Math.max(this.i - 1, 0)]!): never {
    throw new TemplateError(`template: ${this.name}:${tok.line}: ${msg}`);
  }
  private next(): Tok {
    return this.toks[Math.min(this.i++, this.toks.length - 1)]!;
  }
  private peek(): Tok {
    return this.toks[Math.min(this.i, this.toks.length - 1)]!;
  }
  private nextNonSpace(): Tok {
    let t = this.next();
    while (t.typ === 'space') t = this.next();
    return t;
  }
  private peekNonSpace(): Tok {
    const save = this.i;
    const t = this.nextNonSpace();
    this.i = save;
    return t;
  }
  private skipSpaces(): void {
    while (this.peek().typ === 'space') this.i++;
  }
  private itemString(t: Tok): string {
    if (t.typ === 'eof') return 'EOF';
    if (t.typ === 'keyword') return `<${t.val}>`;
    return t.val.length > 10 ? `${JSON.stringify(t.val.slice(0, 10))}...` : JSON.stringify(t.val);
  }
  private unexpected(t: Tok, context: string): never {
    return this.fail(`unexpected ${this.itemString(t)} in ${context}`, t);
  }
  private expect(typ: TokType, context: string): Tok {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }

  parse(): Node[] {
    const root: Node[] = [];
    while (this.peek().typ !== 'eof') {
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') this.fail(`unexpected {{${n}}}`);
      root.push(n);
    }
    return root;
  }

  private itemList(): { list: Node[]; next: 'end' | 'else' } {
    const list: Node[] = [];
    while (this.peekNonSpace().typ !== 'eof') {
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') return { list, next: n };
      list.push(n);
    }
    return this.fail('unexpected EOF', this.peek());
  }

  private textOrAction(): Node | 'end' | 'else' {
    const t = this.nextNonSpace();
    if (t.typ === 'text') return { type: 'text', pos: t.pos, text: t.val };
    if (t.typ === 'left') return this.action();
    return this.unexpected(t, 'input');
  }

  private action(): Node | 'end' | 'else' {
    const t = this.nextNonSpace();
    if (t.typ === 'keyword') {
      switch (t.val) {
        case 'block':
          return this.blockControl();
        case 'break':
        case 'continue':
          if (this.nextNonSpace().typ !== 'right') this.unexpected(this.toks[this.i - 1]!, `{{${t.val}}}`);
          if (this.rangeDepth === 0) this.fail(`{{${t.val}}} outside {{range}}`, t);
          return { type: t.val, pos: t.pos };
        case 'else':
          // "{{else if …" is read as {{else}}{{if …, sharing the one {{end}}
          if (this.peekNonSpace().typ === 'keyword' && this.peekNonSpace().val === 'if') return 'else';
          this.expect('right', 'else');
          return 'else';
        case 'end':
          this.expect('right', 'end');
          return 'end';
        case 'if':
        case 'range':
        case 'with':
          return this.control(t.val);
        case 'template':
          return this.templateControl();
      }
    }
    this.i--;
    const at = this.peek();
    return { type: 'action', pos: at.pos, pipe: this.pipeline('command', 'right') };
  }

  private control(context: 'if' | 'range' | 'with'): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(context, 'right');
    if (context === 'range') this.rangeDepth++;
    let { list, next } = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (next === 'else') {
      const p = this.peekNonSpace();
      if (context === 'if' && p.typ === 'keyword' && p.val === 'if') {
        this.nextNonSpace();
        elseList = [this.control('if')];
      } else {
        ({ list: elseList, next } = this.itemList());
        if (next !== 'end') this.fail('expected end; found {{else}}');
      }
    }
    this.vars.length = mark;
    return { type: context, pos: pipe.pos, pipe, list, ...(elseList ? { elseList } : {}) };
  }

  private templateName(t: Tok, context: string): string {
    if (t.typ !== 'string' && t.typ !== 'rawstring') this.unexpected(t, context);
    try {
      return unquote(t.val);
    } catch {
      return this.fail(`invalid syntax: ${t.val}`, t);
    }
  }

  private templateControl(): Node {
    const t = this.nextNonSpace();
    const name = this.templateName(t, 'template clause');
    let pipe: Pipe | undefined;
    if (this.nextNonSpace().typ !== 'right') {
      this.i--;
      pipe = this.pipeline('template clause', 'right');
    }
    return { type: 'template', pos: t.pos, name, ...(pipe ? { pipe } : {}) };
  }

  private blockControl(): Node {
    const t = this.nextNonSpace();
    const name = this.templateName(t, 'block clause');
    const pipe = this.pipeline('block clause', 'right');
    const [vars, depth] = [this.vars, this.rangeDepth];
    this.vars = ['$'];
    this.rangeDepth = 0;
    const { list, next } = this.itemList();
    if (next !== 'end') this.fail('unexpected {{else}} in block clause');
    [this.vars, this.rangeDepth] = [vars, depth];
    this.templates.set(name, list);
    return { type: 'template', pos: t.pos, name, pipe };
  }

  private pipeline(context: string, end: 'right' | 'rparen'): Pipe {
    const first = this.peekNonSpace();
    const pipe: Pipe = { type: 'pipe', pos: first.pos, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== 'variable') break;
      const save = this.i;
      this.nextNonSpace();
      const nx = this.peekNonSpace();
      if (nx.typ === 'assign' || nx.typ === 'declare') {
        pipe.isAssign = nx.typ === 'assign';
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        break;
      }
      if (nx.typ === 'punct' && nx.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace();
          if (p.typ === 'variable' || p.typ === 'right' || p.typ === 'rparen') continue;
          this.fail('range can only initialize variables', p);
        }
        this.fail(`too many declarations in ${context}`, nx);
      }
      this.i = save;
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, t);
        pipe.cmds.slice(1).forEach((c, k) => {
          if (['bool', 'dot', 'nil', 'number', 'string'].includes(c.args[0]!.type)) this.fail(`non executable command in pipeline stage ${k + 2}`, t);
        });
        return pipe;
      }
      if (['bool', 'char', 'dot', 'field', 'ident', 'number', 'nil', 'rawstring', 'string', 'variable', 'lparen'].includes(t.typ)) {
        this.i--;
        pipe.cmds.push(this.command());
      } else this.unexpected(t, context);
    }
  }

  private command(): Cmd {
    const cmd: Cmd = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.skipSpaces();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      if (t.typ === 'space') continue;
      if (t.typ === 'right' || t.typ === 'rparen') this.i--;
      else if (t.typ !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command');
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node || this.peek().typ !== 'field') return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().typ === 'field') fields.push(this.next().val.slice(1));
    switch (node.type) {
      case 'field':
        return { type: 'field', pos, ident: [...node.ident, ...fields] };
      case 'variable':
        return { type: 'variable', pos, ident: [...node.ident, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.fail(`unexpected . after term ${JSON.stringify(nodeString(node))}`);
      default:
        return { type: 'chain', pos, node, field: fields };
    }
  }

  private term(): Arg | undefined {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'ident':
        if (!(t.val in this.funcs)) this.fail(`function ${JSON.stringify(t.val)} not defined`, t);
        return { type: 'identifier', pos: t.pos, name: t.val };
      case 'dot':
        return { type: 'dot', pos: t.pos };
      case 'nil':
        return { type: 'nil', pos: t.pos };
      case 'variable':
        if (!this.vars.includes(t.val)) this.fail(`undefined variable ${JSON.stringify(t.val)}`, t);
        return { type: 'variable', pos: t.pos, ident: [t.val] };
      case 'field':
        return { type: 'field', pos: t.pos, ident: [t.val.slice(1)] };
      case 'bool':
        return { type: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'char':
      case 'number': {
        let n: ReturnType<typeof parseNumber>;
        try {
          n = parseNumber(t.val);
        } catch {
          n = undefined;
        }
        if (!n) this.fail(t.typ === 'char' ? `malformed character constant: ${t.val}` : `illegal number syntax: ${JSON.stringify(t.val)}`, t);
        return { type: 'number', pos: t.pos, text: t.val, ...n! };
      }
      case 'lparen':
        return this.pipeline('parenthesized pipeline', 'rparen');
      case 'string':
      case 'rawstring':
        try {
          return { type: 'string', pos: t.pos, quoted: t.val, text: unquote(t.val) };
        } catch {
          return this.fail('invalid syntax', t);
        }
    }
    this.i--;
    return undefined;
  }
}

// ---------------------------------------------------------------- functions

/**
 * A function a template can call. Parameter types: a GoType (Go checks the argument is
 * assignable), 'any' (interface{}: the function gets the value, nil for a missing one) or 'value'
 * (reflect.Value, as the built-ins take: the function gets even an invalid value). call returns a
 * value, or throws an Error whose message Go prints after "error calling NAME: ".
 */
export interface GoFunc {
  params: ParamType[];
  variadic?: ParamType;
  call(args: Val[]): Val;
}
type ParamType = GoType | 'any' | 'value';

const fmtArgs = (args: Val[]): FmtArg[] => args.map(asArg);
const anyVariadic = (call: (args: FmtArg[]) => string): GoFunc => ({ params: [], variadic: 'any', call: (a) => str(call(fmtArgs(a))) });
/** evalArgs is text/template's: one string argument as it is, else fmt.Sprint of them all. */
const evalArgs = (args: FmtArg[]) => (args.length === 1 && args[0] !== null && args[0]!.t === STRING ? (args[0]!.v as string) : sprint(args));

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function jsEscape(s: string): string {
  let out = '';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    const named: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' };
    if (named[c]) out += named[c];
    else if (cp < 0x20) out += `\\u00${cp.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (cp < 0x80 || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c)) out += c;
    else out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

type Basic = 'bool' | 'int' | 'float' | 'string';
function basicKind(v: Val): Basic {
  if (v === undefined || !['bool', 'int', 'float', 'string'].includes(v.t.kind)) throw new Error('invalid type for comparison');
  return v.t.kind as Basic;
}

function compare(a: TypedVal, b: TypedVal): number {
  if (a.t.kind === 'string') return byteCompare(a.v, b.v);
  if (a.t.kind === 'int' && (typeof a.v === 'bigint' || typeof b.v === 'bigint')) {
    const [x, y] = [BigInt(a.v), BigInt(b.v)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
}

function eq(args: Val[]): boolean {
  const a1 = indirectInterface(args[0]);
  if (args.length < 2) throw new Error('missing argument for comparison');
  const k1 = a1 && ['bool', 'int', 'float', 'string'].includes(a1.t.kind) ? a1.t.kind : 'other';
  for (const raw of args.slice(1)) {
    const a = indirectInterface(raw);
    const k2 = a && ['bool', 'int', 'float', 'string'].includes(a.t.kind) ? a.t.kind : 'other';
    if (k1 !== k2) {
      if (a1 !== undefined && a !== undefined) throw new Error('incompatible types for comparison');
      continue;
    }
    if (k1 !== 'other') {
      if (compare(a1!, a!) === 0) return true;
      continue;
    }
    if (a1 === undefined || a === undefined) throw new Error('invalid type for comparison');
    if (a1.t.name !== a.t.name) throw new Error(`non-comparable types ${sprint([a1])}: ${a1.t.name}, ${a.t.name}: ${sprint([a])}`);
    const nil = (v: TypedVal) => canBeNil(v.t) && v.v === null;
    if (nil(a1) || nil(a)) {
      if (nil(a1) === nil(a)) return true;
      continue;
    }
    if (a.t.kind === 'slice' || a.t.kind === 'map') throw new Error(`non-comparable type ${sprint([a])}: ${a.t.name}`);
    // pointers are equal when they are the same; structs (time.Time) when their fields are
    if (a.t.kind === 'ptr' ? a1.v === a.v : JSON.stringify(a1.v) === JSON.stringify(a.v)) return true;
  }
  return false;
}

function lt(args: Val[]): boolean {
  const [a, b] = [indirectInterface(args[0]), indirectInterface(args[1])];
  const [k1, k2] = [basicKind(a), basicKind(b)];
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  if (k1 === 'bool') throw new Error('invalid type for comparison');
  return compare(a!, b!) < 0;
}

function indexArg(i: Val, cap: number): number {
  const x = indirectInterface(i);
  if (x === undefined) throw new Error('cannot index slice/array with nil');
  if (x.t.kind !== 'int') throw new Error(`cannot index slice/array with type ${x.t.name}`);
  const n = Number(x.v);
  if (n < 0 || n > cap) throw new Error(`index out of range: ${n}`);
  return n;
}

function index(args: Val[]): Val {
  let item = indirectInterface(args[0]);
  if (item === undefined) throw new Error('index of untyped nil');
  for (const raw of args.slice(1)) {
    const { v: it, isNil } = indirect(item!);
    if (isNil) throw new Error('index of nil pointer');
    if (it.t.kind === 'slice' || it.t.kind === 'string') {
      const len = it.t.kind === 'string' ? Buffer.byteLength(it.v, 'utf8') : ((it.v ?? []) as unknown[]).length;
      const x = indexArg(raw, len);
      if (x === len) throw new Error(`reflect: ${it.t.kind} index out of range`);
      item = it.t.kind === 'string' ? val(UINT8, Buffer.from(it.v, 'utf8')[x]) : val(it.t.elem!, (it.v as unknown[])[x]);
    } else if (it.t.kind === 'map') {
      const k = indirectInterface(raw);
      if (k === undefined) throw new Error(`value is nil; should be of type ${it.t.key!.name}`);
      if (k.t.name !== it.t.key!.name) throw new Error(`value has type ${k.t.name}; should be ${it.t.key!.name}`);
      const m = it.v as Map<string, unknown> | null;
      item = m?.has(k.v) ? val(it.t.elem!, m.get(k.v)) : val(it.t.elem!, zero(it.t.elem!));
    } else throw new Error(`can't index item of type ${it.t.name}`);
  }
  return item;
}

function slice(args: Val[]): Val {
  const item = indirectInterface(args[0]);
  if (item === undefined) throw new Error('slice of untyped nil');
  const idxs = args.slice(1);
  if (idxs.length > 3) throw new Error(`too many slice indexes: ${idxs.length}`);
  if (item.t.kind === 'string' && idxs.length === 3) throw new Error('cannot 3-index slice a string');
  if (item.t.kind !== 'string' && item.t.kind !== 'slice') throw new Error(`can't slice item of type ${item.t.name}`);
  const len = goLen(item);
  const idx = [0, len, len];
  idxs.forEach((x, i) => {
    idx[i] = indexArg(x, len);
  });
  if (idx[0]! > idx[1]!) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (idxs.length === 3 && idx[1]! > idx[2]!) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (item.t.kind === 'string') return val(item.t, Buffer.from(item.v, 'utf8').subarray(idx[0], idx[1]).toString('utf8'));
  return val(item.t, ((item.v ?? []) as unknown[]).slice(idx[0], idx[1]));
}

const cmp = (f: (args: Val[]) => boolean): GoFunc => ({ params: ['value', 'value'], call: (a) => val(BOOL, f(a)) });

/** Go's built-in template functions. */
export const BUILTINS: Record<string, GoFunc> = {
  and: { params: ['value'], variadic: 'value', call: () => undefined }, // short-circuit: evaluated by the executor
  or: { params: ['value'], variadic: 'value', call: () => undefined },
  not: { params: ['value'], call: ([a]) => val(BOOL, !isTrue(a)) },
  len: {
    params: ['value'],
    call: ([a]) => {
      const x = indirectInterface(a);
      if (x === undefined) throw new Error('reflect: call of reflect.Value.Type on zero Value');
      const { v, isNil } = indirect(x);
      if (isNil) throw new Error('len of nil pointer');
      return val(INT, goLen(v));
    },
  },
  index: { params: ['value'], variadic: 'value', call: index },
  slice: { params: ['value'], variadic: 'value', call: slice },
  print: anyVariadic(sprint),
  printf: { params: [STRING], variadic: 'any', call: ([f, ...rest]) => str(sprintf(f!.v as string, fmtArgs(rest))) },
  println: anyVariadic(sprintln),
  html: anyVariadic((a) => htmlEscape(evalArgs(a))),
  js: anyVariadic((a) => jsEscape(evalArgs(a))),
  urlquery: anyVariadic((a) => queryEscape(evalArgs(a))),
  eq: { params: ['value'], variadic: 'value', call: (a) => val(BOOL, eq(a)) },
  ne: cmp((a) => !eq(a)),
  lt: cmp(lt),
  le: cmp((a) => lt(a) || eq(a)),
  gt: cmp((a) => !(lt(a) || eq(a))),
  ge: cmp((a) => !lt(a)),
};

const STRINGS = sliceOf(STRING);
const s1 = (f: (s: string) => string): GoFunc => ({ params: [STRING], call: ([a]) => str(f(a!.v)) });

/** strings.Title: the first letter of each word upper-cased. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const c of s) {
    const sep = c.codePointAt(0)! < 0x80 ? !/[A-Za-z0-9_]/.test(c) : !/^[\p{L}\p{Nd}]$/u.test(c) && /^\s$/u.test(c);
    out += prev === ' ' ? c.toUpperCase() : c;
    prev = sep ? ' ' : 'x';
  }
  return out;
}

/** The functions of containers/common's report.DefaultFuncs, which skopeo's --format has from 1.12 on. */
export const REPORT_FUNCS: Record<string, GoFunc> = {
  json: { params: ['any'], call: ([a]) => str(jsonEncode(asArg(a), false)) },
  join: { params: [STRINGS, STRING], call: ([a, sep]) => str(((a!.v ?? []) as string[]).join(sep!.v)) },
  lower: s1((s) => s.toLowerCase()),
  upper: s1((s) => s.toUpperCase()),
  title: s1(title),
  split: { params: [STRING, STRING], call: ([a, sep]) => val(STRINGS, sep!.v === '' ? [...(a!.v as string)] : (a!.v as string).split(sep!.v)) },
  truncate: {
    params: [STRING, INT],
    call: ([a, n]) => {
      const b = Buffer.from(a!.v as string, 'utf8');
      if (n!.v < 0) throw new Error(`runtime error: slice bounds out of range [:${n!.v}]`);
      return str(b.length < n!.v ? a!.v : b.subarray(0, n!.v).toString('utf8'));
    },
  },
  pad: { params: [STRING, INT, INT], call: ([a, p, q]) => str(a!.v === '' ? '' : ' '.repeat(Math.max(p!.v, 0)) + a!.v + ' '.repeat(Math.max(q!.v, 0))) },
};

/** parseTemplate parses text as Go's template.New(name).Funcs(funcs).Parse(text) does; errors are TemplateErrors with Go's text. */
export function parseTemplate(name: string, text: string, funcs: Record<string, GoFunc> = BUILTINS): Template {
  const p = new Parser(name, lex(name, text), funcs);
  const root = p.parse();
  return { name, text, root, templates: p.templates, funcs };
}

// ---------------------------------------------------------------- execution

const MISSING = Symbol('missing');
type Final = Val | typeof MISSING;
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

class State {
  out = '';
  vars: { name: string; value: Val }[];
  node: AnyNode | undefined;
  depth = 0;

  constructor(
    private tmpl: Template,
    dot: Val,
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  at(n: AnyNode): void {
    this.node = n;
  }

  errorf(msg: string): never {
    let where = this.tmpl.name;
    let context = '';
    if (this.node) {
      const before = Buffer.from(this.tmpl.text.slice(0, this.node.pos), 'utf8').toString('latin1');
      const nl = before.lastIndexOf('\n');
      where += `:${1 + (before.match(/\n/g)?.length ?? 0)}:${nl < 0 ? before.length : before.length - nl - 1}`;
      context = nodeString(this.node);
    }
    throw new TemplateError(`template: ${where}: executing ${JSON.stringify(this.tmpl.name)} at <${context}>: ${msg}`);
  }

  walk(dot: Val, nodes: Node[]): void {
    for (const node of nodes) {
      this.at(node);
      switch (node.type) {
        case 'text':
          this.out += node.text;
          break;
        case 'action': {
          const v = this.evalPipeline(dot, node.pipe);
          if (node.pipe.decl.length === 0) this.printValue(node, v);
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const v = this.evalPipeline(dot, node.pipe);
          if (isTrue(indirectInterface(v))) this.walk(node.type === 'with' ? v : dot, node.list);
          else if (node.elseList) this.walk(dot, node.elseList);
          this.vars.length = mark;
          break;
        }
        case 'range':
          this.walkRange(dot, node);
          break;
        case 'break':
          throw BREAK;
        case 'continue':
          throw CONTINUE;
        case 'template': {
          const list = this.tmpl.templates.get(node.name);
          if (!list) this.errorf(`template ${JSON.stringify(node.name)} not defined`);
          const d = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
          if (this.depth >= 10000) this.errorf(`exceeded maximum template depth (10000)`);
          const saved = this.vars;
          this.vars = [{ name: '$', value: d }];
          this.depth++;
          try {
            this.walk(d, list!);
          } finally {
            this.depth--;
            this.vars = saved;
          }
          break;
        }
      }
    }
  }

  walkRange(dot: Val, r: ControlNode): void {
    const outer = this.vars.length;
    const got = this.evalPipeline(dot, r.pipe);
    const v = got === undefined ? undefined : indirect(got).v;
    const mark = this.vars.length;
    let n = 0;
    const one = (index: Val, elem: Val) => {
      if (r.pipe.decl.length > 0) this.vars[this.vars.length - 1]!.value = elem;
      if (r.pipe.decl.length > 1) this.vars[this.vars.length - 2]!.value = index;
      n++;
      try {
        this.walk(elem, r.list);
      } catch (e) {
        if (e !== CONTINUE) throw e;
      } finally {
        this.vars.length = mark;
      }
    };
    try {
      if (v === undefined || (v.t.kind === 'ptr' && v.v === null) || (v.t.kind === 'iface' && v.v === null)) {
        if (v !== undefined && v.t.kind === 'ptr') this.errorf(`range can't iterate over ${sprint([v])}`);
      } else if (v.t.kind === 'slice')
        ((v.v ?? []) as unknown[]).forEach((e, i) => {
          one(val(INT, i), val(v.t.elem!, e));
        });
      else if (v.t.kind === 'map') for (const k of mapKeys(v.v)) one(val(v.t.key!, k), val(v.t.elem!, (v.v as Map<string, unknown>).get(k)));
      else this.errorf(`range can't iterate over ${sprint([v])}`);
    } catch (e) {
      if (e !== BREAK) throw e;
    }
    if (n === 0 && r.elseList) this.walk(dot, r.elseList);
    this.vars.length = outer;
  }

  printValue(n: AnyNode, v: Val): void {
    this.at(n);
    if (v !== undefined && v.t.kind === 'ptr' && v.v !== null) v = indirect(v).v;
    this.out += v === undefined ? '<no value>' : sprint([asArg(v)]);
  }

  evalPipeline(dot: Val, pipe: Pipe): Val {
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      if (value !== undefined && value.t.kind === 'iface') value = value.v === null ? undefined : (value.v as TypedVal);
    }
    const v = value as Val;
    for (const name of pipe.decl) {
      if (pipe.isAssign) {
        const slot = [...this.vars].reverse().find((x) => x.name === name);
        if (!slot) this.errorf(`undefined variable: ${name}`);
        slot!.value = v;
      } else this.vars.push({ name, value: v });
    }
    return v;
  }

  notAFunction(args: Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`);
  }

  evalCommand(dot: Val, cmd: Cmd, final: Final): Val {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        this.at(first);
        return this.evalFieldChain(dot, dot, first, first.ident, cmd.args, final);
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariable(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return val(BOOL, first.value);
      case 'dot':
        return dot;
      case 'nil':
        return this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return str(first.text);
    }
  }

  idealConstant(n: Extract<Arg, { type: 'number' }>): Val {
    this.at(n);
    const float = n.isFloat && !/^[+-]?0[xX]/.test(n.text) && !n.text.startsWith("'") && /[.eEpP]/.test(n.text);
    if (float) return val(FLOAT64, n.float);
    if (!Number.isSafeInteger(n.int)) this.errorf(`${n.text} overflows int`);
    return val(INT, n.int);
  }

  evalChain(dot: Val, chain: Extract<Arg, { type: 'chain' }>, args: Arg[] | null, final: Final): Val {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'value', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  evalVariable(dot: Val, v: Extract<Arg, { type: 'variable' }>, args: Arg[] | null, final: Final): Val {
    this.at(v);
    const slot = [...this.vars].reverse().find((x) => x.name === v.ident[0]);
    if (!slot) this.errorf(`undefined variable: ${v.ident[0]}`);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return slot!.value;
    }
    return this.evalFieldChain(dot, slot!.value, v, v.ident.slice(1), args, final);
  }

  evalFieldChain(dot: Val, receiver: Val, node: AnyNode, ident: string[], args: Arg[] | null, final: Final): Val {
    for (let i = 0; i < ident.length - 1; i++) receiver = this.evalField(dot, ident[i]!, node, null, MISSING, receiver);
    return this.evalField(dot, ident[ident.length - 1]!, node, args, final, receiver);
  }

  evalField(dot: Val, name: string, node: AnyNode, args: Arg[] | null, final: Final, receiver: Val): Val {
    if (receiver === undefined) return undefined;
    const typ = receiver.t;
    const { v: r, isNil } = indirect(receiver);
    if (r.t.kind === 'iface' && isNil) this.errorf(`nil pointer evaluating ${typ.name}.${name}`);
    const base = r.t.kind === 'ptr' ? r.t.elem! : r.t;
    const method = base.methods?.[name];
    if (method) {
      if (isNil) {
        this.at(node);
        this.errorf(`error calling ${name}: value method ${base.name}.${name} called using nil *${base.name.replace(/^.*\./, '')} pointer`);
      }
      return this.evalCall(dot, { params: method.params, call: (a) => method.call(r.v, a) }, false, node, name, args, final);
    }
    const hasArgs = (args?.length ?? 0) > 1 || final !== MISSING;
    if (r.t.kind === 'struct') {
      const f = r.t.fields?.find((x) => x.name === name);
      if (f) {
        if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
        return val(f.type, r.v[name]);
      }
    } else if (r.t.kind === 'map') {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      const m = r.v as Map<string, unknown> | null;
      return m?.has(name) ? val(r.t.elem!, m.get(name)) : undefined;
    } else if (r.t.kind === 'ptr' && base.kind === 'struct' && base.fields?.some((x) => x.name === name)) {
      this.errorf(`nil pointer evaluating ${typ.name}.${name}`);
    }
    return this.errorf(`can't evaluate field ${name} in type ${typ.name}`);
  }

  evalFunction(dot: Val, id: Extract<Arg, { type: 'identifier' }>, cmd: AnyNode, args: Arg[] | null, final: Final): Val {
    this.at(id);
    const fn = this.tmpl.funcs[id.name];
    if (!fn) this.errorf(`${JSON.stringify(id.name)} is not a defined function`);
    return this.evalCall(dot, fn!, fn === BUILTINS[id.name], cmd, id.name, args, final);
  }

  evalCall(dot: Val, fn: GoFunc, builtin: boolean, node: AnyNode, name: string, args: Arg[] | null, final: Final): Val {
    const argNodes = args ? args.slice(1) : [];
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    const fixed = fn.params.length;
    if (fn.variadic) {
      if (numIn < fixed) this.errorf(`wrong number of args for ${name}: want at least ${fixed} got ${numIn}`);
    } else if (numIn !== fixed) this.errorf(`wrong number of args for ${name}: want ${fixed} got ${numIn}`);
    const paramType = (i: number): ParamType => (i < fixed ? fn.params[i]! : fn.variadic!);
    if (builtin && (name === 'and' || name === 'or')) {
      let v: Val;
      for (const a of argNodes) {
        v = this.evalArg(dot, 'value', a);
        if (isTrue(indirectInterface(v)) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v!;
    }
    const argv = argNodes.map((a, i) => this.evalArg(dot, paramType(i), a));
    if (final !== MISSING) argv.push(this.validateType(final, paramType(argNodes.length)));
    try {
      return fn.call(argv);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.at(node);
      return this.errorf(`error calling ${name}: ${(e as Error).message}`);
    }
  }

  evalArg(dot: Val, typ: ParamType, n: Arg | Pipe): Val {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ === 'any') return undefined;
        if (typ !== 'value' && canBeNil(typ)) return val(typ, null);
        return this.errorf(`cannot assign nil to ${typ === 'value' ? 'reflect.Value' : typ.name}`);
      case 'field':
        return this.validateType(this.evalFieldChain(dot, dot, n, n.ident, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariable(dot, n, null, MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, null, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChain(dot, n, null, MISSING), typ);
    }
    if (typ === 'any' || typ === 'value') {
      if (n.type === 'bool') return val(BOOL, n.value);
      if (n.type === 'number') return this.idealConstant(n);
      return str(n.text);
    }
    switch (typ.kind) {
      case 'bool':
        if (n.type === 'bool') return val(typ, n.value);
        return this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'int':
        if (n.type === 'number' && n.isInt) return val(typ, n.int);
        return this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'float':
        if (n.type === 'number' && n.isFloat) return val(typ, n.float);
        return this.errorf(`expected float; found ${nodeString(n)}`);
      case 'string':
        if (n.type === 'string') return val(typ, n.text);
        return this.errorf(`expected string; found ${nodeString(n)}`);
    }
    return this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ.name}`);
  }

  validateType(value: Val, typ: ParamType): Val {
    if (typ === 'value') return value;
    if (value === undefined) {
      if (typ === 'any') return undefined;
      if (canBeNil(typ)) return val(typ, null);
      return this.errorf(`invalid value; expected ${typ.name}`);
    }
    if (typ === 'any' || typ.kind === 'iface' || value.t.name === typ.name) return value;
    if (value.t.kind === 'iface' && value.v !== null) return this.validateType(value.v as TypedVal, typ);
    if (value.t.kind === 'ptr' && value.t.elem!.name === typ.name) {
      if (value.v === null) this.errorf(`dereference of nil pointer of type ${typ.name}`);
      return val(typ, value.v);
    }
    return this.errorf(`wrong type for value; expected ${typ.name}; got ${value.t.name}`);
  }
}

/** executeTemplate runs a parsed template on data, as Go's Template.Execute; it returns the text or throws a TemplateError. */
export function executeTemplate(tmpl: Template, data: Val): string {
  const s = new State(tmpl, data);
  try {
    s.walk(data, tmpl.root);
  } catch (e) {
    if (e === BREAK || e === CONTINUE) throw new TemplateError(`template: ${tmpl.name}: break or continue outside a range`);
    throw e;
  }
  return s.out;
}

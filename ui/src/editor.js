// The PromQL editor: CodeMirror 6 with @prometheus-io/codemirror-promql (highlighting, linting,
// completion of functions, metric names, label names and values from this gateway's API), undo
// history, and Enter to run the query.
import {
  autocompletion,
  bracketMatching,
  closeBrackets,
  closeBracketsKeymap,
  defaultKeymap,
  EditorState,
  EditorView,
  highlightSpecialChars,
  HighlightStyle,
  history,
  historyKeymap,
  insertNewlineAndIndent,
  keymap,
  lintKeymap,
  placeholder,
  Prec,
  PromQLExtension,
  syntaxHighlighting,
  tags,
} from "./npm.js";

const highlight = HighlightStyle.define([
  { tag: tags.number, color: "#09885a" },
  { tag: tags.string, color: "#a31515" },
  { tag: tags.keyword, color: "#0550ae", fontWeight: "bold" },
  { tag: tags.function(tags.variableName), color: "#0550ae" },
  { tag: tags.labelName, color: "#953800" },
  { tag: tags.operator, color: "#6f42c1" },
  { tag: tags.modifier, color: "#6f42c1" },
  { tag: tags.comment, color: "#6a737d", fontStyle: "italic" },
  { tag: tags.invalid, color: "#cf222e" },
]);

const theme = EditorView.theme({
  "&": {
    fontSize: "14px",
    border: "1px solid #c8ccd0",
    borderRadius: "4px",
    background: "#fff",
  },
  "&.cm-focused": { outline: "2px solid #4c8ef7", outlineOffset: "-1px" },
  ".cm-content": {
    fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace",
    padding: "6px 0",
  },
  ".cm-line": { padding: "0 8px" },
  ".cm-tooltip.cm-tooltip-autocomplete > ul": {
    fontFamily: "ui-monospace, monospace",
  },
});

/**
 * Creates the editor in `parent`. `onRun()` is called by Enter; `recall(-1 | 1)` returns the
 * previous or next query of the history (or undefined).
 */
export function createEditor(
  parent,
  { doc, apiBase, lookbackMs, onRun, recall },
) {
  const promql = new PromQLExtension().setComplete({
    remote: {
      url: apiBase,
      // Long-term data: look for names and values over the whole time the gateway serves.
      lookbackInterval: lookbackMs,
      httpMethod: "GET",
      httpErrorHandler: (err) => console.warn("completion request failed", err),
    },
  });
  const replace = (view, text) => {
    if (text === undefined) return false;
    view.dispatch({
      changes: { from: 0, to: view.state.doc.length, insert: text },
      selection: { anchor: text.length },
    });
    return true;
  };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        history(),
        highlightSpecialChars(),
        bracketMatching(),
        closeBrackets(),
        autocompletion(),
        syntaxHighlighting(highlight),
        placeholder(
          "Expression (press Enter to run, Shift+Enter for a new line)",
        ),
        theme,
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": "PromQL expression" }),
        promql.asExtension(),
        Prec.high(keymap.of([
          { key: "Enter", run: () => (onRun(), true) },
          { key: "Shift-Enter", run: insertNewlineAndIndent },
          { key: "Alt-ArrowUp", run: (v) => replace(v, recall(-1)) },
          { key: "Alt-ArrowDown", run: (v) => replace(v, recall(1)) },
          { key: "Escape", run: (v) => (v.contentDOM.blur(), true) },
        ])),
        keymap.of([
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...historyKeymap,
          ...lintKeymap,
        ]),
      ],
    }),
  });
  return {
    get text() {
      return view.state.doc.toString();
    },
    set text(value) {
      replace(view, value);
    },
    focus: () => view.focus(),
    view,
  };
}

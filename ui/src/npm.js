// What the UI uses of its npm packages. The build (ui/build.mjs) bundles, in place of this
// module, one that re-exports these names from the packages and imports their styles; keeping
// the package names out of the sources' imports keeps them out of the repository's `deno check`,
// which resolves every import of every script and has no entry for packages that only the
// build installs.

/** Package -> the names the UI imports from it (`default as x` for a default export). */
export const NPM_EXPORTS = {
  "@codemirror/autocomplete": [
    "autocompletion",
    "closeBrackets",
    "closeBracketsKeymap",
  ],
  "@codemirror/commands": [
    "defaultKeymap",
    "history",
    "historyKeymap",
    "insertNewlineAndIndent",
  ],
  "@codemirror/language": [
    "bracketMatching",
    "HighlightStyle",
    "syntaxHighlighting",
  ],
  "@codemirror/lint": ["lintKeymap"],
  "@codemirror/state": ["EditorState", "Prec"],
  "@codemirror/view": [
    "EditorView",
    "highlightSpecialChars",
    "keymap",
    "placeholder",
  ],
  "@lezer/highlight": ["tags"],
  "@prometheus-io/codemirror-promql": ["PromQLExtension"],
  "uplot": ["default as uPlot"],
};

/** Style sheets of the packages. */
export const NPM_STYLES = ["uplot/dist/uPlot.min.css"];

// PurgeCSS options for the public pages (fluentio/public_pages/purge.py passes the
// stylesheet and the page on the command line). Radix Themes styles the root by
// attribute values ([data-scaling="100%"], [data-radius="large"], …), which PurgeCSS
// can't see as used, so every selector on those attributes is kept. Custom properties
// are all kept: Radix chains them (--gray-11 → --slate-11) and Reflex's inline styles
// read them, which PurgeCSS's variable pruning does not follow. The fl-wN classes are
// purge.py's placeholders for `:where(:pseudo…)` groups, which PurgeCSS mishandles.
module.exports = {
  keyframes: true,
  fontFace: true,
  dynamicAttributes: [
    "data-accent-color",
    "data-gray-color",
    "data-has-background",
    "data-panel-background",
    "data-radius",
    "data-scaling",
    "data-is-root-theme",
  ],
  safelist: { standard: [/^fl-w\d+$/] },
};

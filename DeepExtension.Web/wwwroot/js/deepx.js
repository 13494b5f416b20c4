// DeepExtension's own browser helpers, imported as an ES module through JS interop.

/** Scrolls an element to its end (the live log tail). */
export function scrollToEnd(id) {
    const element = document.getElementById(id);
    if (element) {
        element.scrollTop = element.scrollHeight;
    }
}

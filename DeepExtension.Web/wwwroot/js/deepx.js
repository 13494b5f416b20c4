// DeepExtension's own browser helpers, imported as an ES module through JS interop.

/** Scrolls an element to its end (the live log tail). */
export function scrollToEnd(id) {
    const element = document.getElementById(id);
    if (element) {
        element.scrollTop = element.scrollHeight;
    }
}

/** Copies text to the clipboard; false where the browser refuses (no secure context, no permission). */
export async function copyText(text) {
    try {
        await navigator.clipboard.writeText(text);
        return true;
    } catch {
        return false;
    }
}

/** The browser's IANA time zone ("Europe/Berlin"), for showing times in the user's local time. */
export function timeZone() {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Reads a per-browser setting (hidden table columns); null when none or when storage is unavailable. */
export function loadSetting(key) {
    try {
        return window.localStorage.getItem(key);
    } catch {
        return null;
    }
}

/** Stores a per-browser setting. */
export function saveSetting(key, value) {
    try {
        window.localStorage.setItem(key, value);
    } catch {
        // Storage full or disabled: the setting only lasts for this page.
    }
}

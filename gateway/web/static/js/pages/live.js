// Owned by a helper: replaced with the real pages.
export const pages = [];

'use strict';
// Helpers that look at a data directory from outside, as an auditor would.

const fs = require('node:fs');
const path = require('node:path');

// The files under `dir` (relative paths) whose bytes contain `needle` (string or Buffer).
function filesContaining(dir, needle) {
  const found = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && fs.readFileSync(p).includes(needle)) found.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return found;
}

module.exports = { filesContaining };

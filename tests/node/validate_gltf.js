// Validates one glTF/GLB file with the Khronos glTF-Validator (npm gltf-validator) and prints its report's
// counts as one JSON line: {"numErrors", "numWarnings", "numInfos", "messages": [first errors]}.
// Usage: node tests/node/validate_gltf.js FILE.glb   (installed by: npm install --prefix tests/node)
const fs = require("fs");
const validator = require("gltf-validator");

const path = process.argv[2];
validator.validateBytes(new Uint8Array(fs.readFileSync(path)), {maxIssues: 100})
  .then((report) => {
    const issues = report.issues;
    const errors = issues.messages.filter((m) => m.severity === 0).slice(0, 10)
      .map((m) => `${m.code} ${m.pointer || ""}: ${m.message}`);
    const warnings = issues.messages.filter((m) => m.severity === 1).slice(0, 10)
      .map((m) => `${m.code} ${m.pointer || ""}: ${m.message}`);
    console.log(JSON.stringify({numErrors: issues.numErrors, numWarnings: issues.numWarnings,
                                numInfos: issues.numInfos, errors: errors, warnings: warnings}));
  })
  .catch((error) => { console.error(`${path}: ${error}`); process.exit(2); });

// Validates Kubernetes objects against the API's OpenAPI schemas (kubernetes-models, generated from
// the Kubernetes OpenAPI spec). Reads multi-document YAML from files, or stdin when given "-".
//   node deploy/test/validate_k8s.mjs deploy/k8s/*.yaml
//   helm template x deploy/helm/citadel | node deploy/test/validate_k8s.mjs -
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

let failures = 0;
let checked = 0;
const fail = (where, msg) => {
  failures++;
  console.error(`FAIL ${where}: ${msg}`);
};

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      fail(file, doc.errors.map((e) => e.message).join("; "));
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue;
    const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    if (!obj.apiVersion || !obj.kind) {
      fail(file, "a document without apiVersion/kind");
      continue;
    }
    if (obj.apiVersion.startsWith("kustomize.config.k8s.io")) continue;  // not an API object
    let mod;
    try {
      mod = await import(`kubernetes-models/${obj.apiVersion}`);
    } catch {
      fail(where, `unknown apiVersion ${obj.apiVersion}`);
      continue;
    }
    const Model = mod[obj.kind];
    if (!Model) {
      fail(where, `unknown kind ${obj.kind} in ${obj.apiVersion}`);
      continue;
    }
    try {
      new Model(obj).validate();
      checked++;
    } catch (e) {
      fail(where, e.message);
    }
  }
}
if (checked === 0) fail(process.argv.slice(2).join(" "), "no Kubernetes objects found");
console.log(`schema: ${checked} objects valid, ${failures} failures`);
process.exit(failures ? 1 : 0);

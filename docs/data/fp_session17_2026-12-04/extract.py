# Compact per-beta tables from `blockspin evaluate` metrics.json files (the full files carry histograms):
#   /usr/bin/python3 extract.py OUT.json label=metrics.json ...
# model errors (relative action error, L2 with standard errors), improvement factors over the best affine-fitted
# classical action, the fit files, and the instanton table where present.
import json, sys
out = {}
for arg in sys.argv[2:]:
    label, path = arg.split('=', 1)
    m = json.load(open(path))
    out[label] = {'files': m.get('files'), 'fit_files': m.get('fit', {}).get('files'),
                  'model': m['model'], 'improvement': m.get('improvement'),
                  'instantons': m.get('instantons')}
json.dump(out, open(sys.argv[1], 'w'), indent=1, sort_keys=True)

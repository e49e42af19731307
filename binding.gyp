{
  # Native fast path for zero-copy file -> socket sends (Linux sendfile(2)).
  # `npm install` runs `node-gyp rebuild` automatically because this file exists
  # (and package.json defines no install/preinstall script). The result is
  # build/Release/spate_native.node, loaded by src/native/sendfile.ts.
  'targets': [
    {
      'target_name': 'spate_native',
      'sources': [ 'native/sendfile.cc', 'native/response-sender.cc', 'native/crc32c.cc', 'native/record-scan.cc' ],
      # C++ exceptions enabled (node-addon-api's NAPI_CPP_EXCEPTIONS mode): the addon
      # throws Napi::TypeError for bad arguments and never lets an exception escape Execute().
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': [ 'NAPI_VERSION=8' ],
      'cflags!': [ '-O3', '-fno-exceptions' ],
      'cflags_cc!': [ '-O3', '-fno-exceptions', '-std=gnu++17', '-std=gnu++20' ],
      'cflags': [ '-O2', '-Wall', '-Wextra' ],
      'cflags_cc': [ '-O2', '-std=c++17', '-fexceptions', '-Wall', '-Wextra' ],
    },
  ],
}

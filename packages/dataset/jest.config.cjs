module.exports = { ...require('../../jest.preset.cjs'), displayName: 'dataset', rootDir: __dirname };

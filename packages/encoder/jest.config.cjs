module.exports = { ...require('../../jest.preset.cjs'), displayName: 'encoder', rootDir: __dirname };

module.exports = { ...require('../../jest.preset.cjs'), displayName: 'lm', rootDir: __dirname };

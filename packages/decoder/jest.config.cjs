module.exports = { ...require('../../jest.preset.cjs'), displayName: 'decoder', rootDir: __dirname };

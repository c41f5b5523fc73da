module.exports = async (body) => `Hello from Node: ${body}`;

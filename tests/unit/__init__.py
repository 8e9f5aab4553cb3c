"""Pure tests: the sans-IO core, codecs, typed values, parsers. No sockets, no servers."""

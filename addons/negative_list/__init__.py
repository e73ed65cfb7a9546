"""``negative_list``: the negative list of hidden barriers (负面清单) in procurement documents:
rules kept by the province (with region overrides), a checker run on a project's documents
before publication, the publisher's resolution of each finding, the supervisor's review of
justifications and the province's statistics. See docs/negative_list.md."""

"""Flow analytics inside the scheduler: a consumer folds the topics into tables; reports read them."""

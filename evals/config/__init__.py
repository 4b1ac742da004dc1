"""Loading what the user wrote: suites, cases, prompt templates, runner profiles."""

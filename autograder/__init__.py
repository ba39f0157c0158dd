"""The course autograder: nbgrader underneath, student code in a sandbox."""

/* input: being written. */

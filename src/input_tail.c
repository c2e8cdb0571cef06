/* input_tail: being written. */

/* sink: being written. */
